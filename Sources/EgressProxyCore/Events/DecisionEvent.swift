import HelperRuntime
import IPCWire

/// One `l7_egress_decision` line (docs/egressproxy.md), written when the
/// connection ends so that the byte counts and the duration are known.
public struct DecisionEvent: Equatable, Sendable {
    public var realtimeNanoseconds: Int64
    public var mode: Arrival
    /// The client's address and port, and the destination it chose (transparent
    /// mode): the flow log's view of the same connection.
    public var client: String
    public var originalDestination: String?
    public var proto: WireProtocol?
    public var name: String?
    public var port: UInt16?
    public var reason: EgressReason
    public var detail: String?
    public var upstream: String?
    public var bytesUp: Int = 0
    public var bytesDown: Int = 0
    public var durationMicroseconds: Int64 = 0

    public init(realtimeNanoseconds: Int64, mode: Arrival, client: String, originalDestination: String?, reason: EgressReason) {
        self.realtimeNanoseconds = realtimeNanoseconds
        self.mode = mode
        self.client = client
        self.originalDestination = originalDestination
        self.reason = reason
    }

    public func json(cellID: String) -> String {
        var fields: [(String, String)] = [
            ("type", JSONBytes.quoted("l7_egress_decision")),
            ("time", JSONBytes.quoted(RFC3339.format(nanoseconds: realtimeNanoseconds))),
            ("cell_id", JSONBytes.quoted(cellID)),
            ("mode", JSONBytes.quoted(mode == .explicit ? "explicit" : "transparent")),
            ("client", JSONBytes.quoted(client)),
            ("original_dst", originalDestination.map(JSONBytes.quoted) ?? "null"),
            ("protocol", proto.map { JSONBytes.quoted($0.rawValue) } ?? "null"),
            ("name", name.map(JSONBytes.quoted) ?? "null"),
            ("port", port.map { String($0) } ?? "null"),
            ("decision", JSONBytes.quoted(reason.decision)),
            ("reason", JSONBytes.quoted(reason.rawValue)),
        ]
        if let detail { fields.append(("detail", JSONBytes.quoted(detail))) }
        fields += [
            ("upstream", upstream.map(JSONBytes.quoted) ?? "null"),
            ("bytes_up", String(bytesUp)),
            ("bytes_down", String(bytesDown)),
            ("duration_us", String(durationMicroseconds)),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

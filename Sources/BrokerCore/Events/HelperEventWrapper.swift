import HelperRuntime

/// Turns one JSON line from a helper into a stamped CloudEvent. The helper's
/// object becomes `data` unchanged; the CloudEvent `type` comes from the line's
/// `type` alone (`lineTypes`), its `time` from the line's `time`: when the thing
/// happened, not when the broker read it (docs/events.md has every line's schema).
///
/// Anything else (not JSON, not an object, an unknown `type`, no valid `time`) is
/// kept as `helper.v1.unrecognized_output` with the raw line (cut to 4096 bytes),
/// so a misbehaving helper leaves a trace instead of a gap.
public struct HelperEventWrapper: Sendable {
    public static let maxLineBytes = 64 * 1024

    /// Helper line `type` → CloudEvent type: the one table a new line type is added to
    /// (docs/events.md, "Helper lines").
    public static let lineTypes: [String: CellEventType] = [
        "dns_query": .dnsQuery,
        "dnsproxy_stats": .helperStats,
        "flow_event": .networkFlowDecision,
        "flow_summary": .networkFlowSummary,
        "flowlog_stats": .helperStats,
        "l7_egress_decision": .l7EgressDecision,
        "egressproxy_stats": .helperStats,
    ]

    public let helper: String
    public let stamper: EventStamper

    public init(helper: String, stamper: EventStamper) {
        self.helper = helper
        self.stamper = stamper
    }

    public func wrap(line: [UInt8]) -> CloudEvent {
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(line, maxBytes: Self.maxLineBytes)
        } catch {
            return unrecognized(line, reason: error.description)
        }
        guard case .object(let members) = parsed else { return unrecognized(line, reason: "not a JSON object") }
        guard let name = members["type"]?.stringValue else { return unrecognized(line, reason: "no \"type\" string") }
        guard let type = Self.lineTypes[name] else { return unrecognized(line, reason: "unknown type \"\(name)\"") }
        guard let time = members["time"]?.stringValue, RFC3339.isCanonical(time) else {
            return unrecognized(line, reason: "no \"time\" in the form 2026-12-02T01:02:03.123456Z")
        }
        return stamper.event(type, from: helper, time: time, data: parsed)
    }

    public func wrap(line: String) -> CloudEvent { wrap(line: Array(line.utf8)) }

    private func unrecognized(_ line: [UInt8], reason: String) -> CloudEvent {
        let kept = String(decoding: line.prefix(4096), as: UTF8.self)
        return stamper.event(
            .helperUnrecognizedOutput, from: helper,
            data: .object(["helper": .string(helper), "line": .string(kept), "reason": .string(reason), "bytes": .integer(line.count)]))
    }
}

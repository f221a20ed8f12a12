/// Turns one plain JSON line from a helper into a stamped CloudEvent. The helper's
/// object becomes `data` unchanged; only the `type` is chosen here, from the line's
/// shape, as each helper documents it:
///
/// - cellos-dnsproxy: a query line (has `qname` and `decision`) → `dns_query`;
///   `{"stats": {...}}` → `helper.v1.stats`.
/// - cellos-flowlog: `"type": "flow_event"` → `network_flow_decision`,
///   `"flow_summary"` → `network_flow_summary`, `"flowlog_stats"` → `helper.v1.stats`.
/// - cellos-egressproxy: `"type": "l7_egress_decision"` → `l7_egress_decision`,
///   `"egressproxy_stats"` → `helper.v1.stats`.
///
/// Anything else (not JSON, not an object, an unknown shape) is kept as
/// `helper.v1.unrecognized_output` with the raw line (cut to 4096 bytes), so a
/// misbehaving helper leaves a trace instead of a gap.
public struct HelperEventWrapper: Sendable {
    public static let maxLineBytes = 64 * 1024
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
        guard let type = Self.classify(members) else { return unrecognized(line, reason: "no known event shape") }
        return stamper.event(type, from: helper, data: parsed)
    }

    public func wrap(line: String) -> CloudEvent { wrap(line: Array(line.utf8)) }

    static func classify(_ members: [String: JSONValue]) -> CellEventType? {
        switch members["type"]?.stringValue {
        case "flow_event": return .networkFlowDecision
        case "flow_summary": return .networkFlowSummary
        case "flowlog_stats", "egressproxy_stats": return .helperStats
        case "l7_egress_decision": return .l7EgressDecision
        default: break
        }
        if members["qname"] != nil && members["decision"] != nil { return .dnsQuery }
        if members.count == 1, members["stats"]?.objectValue != nil { return .helperStats }
        return nil
    }

    private func unrecognized(_ line: [UInt8], reason: String) -> CloudEvent {
        let kept = String(decoding: line.prefix(4096), as: UTF8.self)
        return stamper.event(
            .helperUnrecognizedOutput, from: helper,
            data: .object(["helper": .string(helper), "line": .string(kept), "reason": .string(reason), "bytes": .integer(line.count)]))
    }
}

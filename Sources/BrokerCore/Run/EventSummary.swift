/// A readable digest of a cell's event log (`cellos-broker summary EVENTS`, and the
/// demo's output): the workload's confinement, DNS decisions, flow decisions, counters, helper failures and how
/// the cell ended. Lines that are not events of a known type are counted, not shown.
public enum EventSummary {
    public static func render(lines: [Substring]) -> String {
        var dns: [String] = []
        var flows: [String] = []
        var l7: [String] = []
        var counters: [String] = []
        var failures: [String] = []
        var unenforced: [String] = []
        var confinement: [String] = []
        var ending: [String] = []
        var events = 0
        var skipped = 0
        for line in lines where !line.isEmpty {
            guard case .object(let event)? = try? JSONParser.parse(String(line)), let type = event["type"]?.stringValue,
                case .object(let data)? = event["data"]
            else {
                skipped += 1
                continue
            }
            events += 1
            func text(_ key: String) -> String {
                switch data[key] {
                case .string(let value)?: value
                case .number(let value)?: value
                case .bool(let value)?: "\(value)"
                default: "-"
                }
            }
            switch type.split(separator: ".").last.map(String.init) ?? "" {
            case "dns_query":
                dns.append("  \(text("qname")) \(text("qtype")): \(text("decision")) (\(text("reason")), \(text("rcode")))")
            case "network_flow_decision":
                let port = data["dport"] == nil ? "" : ":\(text("dport"))"
                flows.append("  \(text("verdict")) \(text("protocol")) \(text("src")) -> \(text("dst"))\(port) (rule \(text("rule")))")
            case "l7_egress_decision":
                let upstream = data["upstream"]?.stringValue.map { " -> \($0)" } ?? ""
                l7.append("  \(text("name")):\(text("port")) \(text("mode")) \(text("protocol")): \(text("decision")) (\(text("reason")))\(upstream)")
            case "nft_counter":
                counters.append("  \(text("rule")) (\(text("verdict"))): \(text("packets")) packets, \(text("bytes")) bytes")
            case "limits_not_enforced":
                if case .array(let items)? = data["limits"] {
                    for case .object(let item) in items {
                        func value(_ key: String) -> String {
                            switch item[key] {
                            case .string(let text)?, .number(let text)?: text
                            default: "-"
                            }
                        }
                        unenforced.append("  \(value("field")) = \(value("value")): \(value("reason"))")
                    }
                }
            case "confined":
                confinement.append("  uid \(text("uid")) gid \(text("gid")) (\(text("ids"))), pid \(text("pid"))")
                if case .array(let layers)? = data["layers"] {
                    for case .object(let layer) in layers {
                        let applied = layer["applied"] == .bool(true) ? "applied" : "NOT applied"
                        confinement.append("  \(layer["name"]?.stringValue ?? "-"): \(applied) (\(layer["detail"]?.stringValue ?? "-"))")
                    }
                }
            case "failed":
                failures.append("  \(text("helper")): \(text("reason"))")
            case "completed":
                let how = data["exit_status"] != nil ? "exit status \(text("exit_status"))" : "signal \(text("signal"))"
                ending.append("  workload: \(how) after \(text("duration_ms")) ms\(text("timed_out") == "true" ? " (timed out)" : "")")
            case "destroyed":
                ending.append("  cell destroyed: \(text("reason"))\(data["detail"] == nil ? "" : " (\(text("detail")))")")
            default:
                break
            }
        }
        var out = ""
        func section(_ title: String, _ rows: [String]) {
            out += "\(title):\n" + (rows.isEmpty ? "  (none)\n" : rows.joined(separator: "\n") + "\n")
        }
        if !confinement.isEmpty { section("Confinement", confinement) }
        section("DNS queries", dns)
        section("Flow decisions", flows)
        if !l7.isEmpty { section("Name-based egress (L7)", l7) }
        section("nft counters (packets count new flows)", counters)
        if !failures.isEmpty { section("Helper failures", failures) }
        if !unenforced.isEmpty { section("Limits not enforced", unenforced) }
        section("Outcome", ending)
        out += "\(events) events" + (skipped > 0 ? ", \(skipped) unreadable lines" : "") + "\n"
        return out
    }
}

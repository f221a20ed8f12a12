import BrokerCore
import Testing

/// `cellos-broker summary`: each known event type lands in its section.
@Suite struct EventSummaryTests {
    @Test func rendersEachSection() {
        let lines: [Substring] = [
            #"{"type":"dev.cellos.events.cell.observability.v1.dns_query","data":{"qname":"a.test","qtype":"A","decision":"deny","reason":"denied_name","rcode":"REFUSED"}}"#,
            #"{"type":"dev.cellos.events.cell.observability.v1.network_flow_decision","data":{"verdict":"drop","protocol":"tcp","src":"10.0.0.2","dst":"192.0.2.80","dport":9090,"rule":"default"}}"#,
            #"{"type":"dev.cellos.events.cell.observability.v1.nft_counter","data":{"rule":"r1","verdict":"accept","packets":2,"bytes":120}}"#,
            #"{"type":"dev.cellos.events.cell.command.v1.completed","data":{"exit_status":3,"duration_ms":15,"timed_out":false}}"#,
            #"{"type":"dev.cellos.events.cell.lifecycle.v1.destroyed","data":{"reason":"completed"}}"#,
            "not json",
        ]
        let text = EventSummary.render(lines: lines)
        #expect(text.contains("  a.test A: deny (denied_name, REFUSED)\n"))
        #expect(text.contains("  drop tcp 10.0.0.2 -> 192.0.2.80:9090 (rule default)\n"))
        #expect(text.contains("  r1 (accept): 2 packets, 120 bytes\n"))
        #expect(text.contains("  workload: exit status 3 after 15 ms\n"))
        #expect(text.contains("  cell destroyed: completed\n"))
        #expect(text.hasSuffix("5 events, 1 unreadable lines\n"))
        #expect(!text.contains("Helper failures"))
        #expect(!text.contains("Limits not enforced"))
        #expect(!text.contains("Confinement"))
    }

    @Test func listsTheConfinementLayers() {
        let line: Substring = #"{"type":"dev.cellos.events.cell.lifecycle.v1.confined","data":{"pid":42,"uid":70000,"gid":70001,"ids":"explicit","layers":[{"name":"identity","applied":true,"detail":"uid 70000 gid 70001 (explicit)"},{"name":"landlock","applied":false,"detail":"not supported by this kernel"}],"not_applied":["landlock"]}}"#
        #expect(EventSummary.render(lines: [line]).hasPrefix(
            "Confinement:\n  uid 70000 gid 70001 (explicit), pid 42\n  identity: applied (uid 70000 gid 70001 (explicit))\n  landlock: NOT applied (not supported by this kernel)\nDNS queries:"))
    }

    @Test func listsLimitsNotEnforced() {
        let line: Substring = #"{"type":"dev.cellos.events.cell.lifecycle.v1.limits_not_enforced","data":{"limits":[{"field":"limits.pids","limit":"pids","reason":"no --cgroup-root","value":32}]}}"#
        #expect(EventSummary.render(lines: [line]).contains("Limits not enforced:\n  limits.pids = 32: no --cgroup-root\n"))
    }
}

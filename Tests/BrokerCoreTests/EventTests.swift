@testable import BrokerCore
import Foundation
import Glibc
import HelperRuntime
import Testing

@Suite struct EventTests {
    static let stamper = EventStamper(cellID: "c1", host: "host.test", clock: { timespec(tv_sec: 1_764_086_400, tv_nsec: 123_456_789) })

    @Test func envelopeHasEveryCloudEventsAttribute() throws {
        let event = Self.stamper.event(.started, data: .object(["argv": .array([.string("/bin/true")])]))
        let members = try #require(try JSONParser.parse(event.line).objectValue)
        #expect(members["specversion"] == .string("1.0"))
        #expect(members["type"] == .string("dev.cellos.events.cell.lifecycle.v1.started"))
        #expect(members["source"] == .string("urn:cellos:host.test:cellos-broker"))
        #expect(members["subject"] == .string("cell:c1"))
        #expect(members["time"] == .string("2025-11-25T16:00:00.123456Z"))
        #expect(members["datacontenttype"] == .string("application/json"))
        #expect(members["data"] == .object(["argv": .array([.string("/bin/true")])]))
        let id = try #require(members["id"]?.stringValue)
        #expect(id.count == 36 && id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
        #expect(Array(id)[14] == "4")
    }

    @Test func eventIDsAreUnique() {
        let ids = Set((0..<2000).map { _ in EventIDs.generate() })
        #expect(ids.count == 2000)
    }

    @Test func rfc3339PadsEveryField() {
        #expect(RFC3339.format(seconds: 0, microseconds: 5) == "1970-01-01T00:00:00.000005Z")
    }

    /// A consumer's re-serialized `time` parses back to the same instant.
    @Test(arguments: [
        ("2026-12-02T01:02:03.000000Z", "2026-12-02T01:02:03.000000Z"), ("2026-12-02T01:02:03Z", "2026-12-02T01:02:03.000000Z"),
        ("2026-12-02t01:02:03.5z", "2026-12-02T01:02:03.500000Z"), ("2026-12-02T03:02:03.123456789+02:00", "2026-12-02T01:02:03.123456Z"),
        ("2024-02-29T23:59:59.999999-00:30", "2024-03-01T00:29:59.999999Z"),
    ])
    func rfc3339ParsesEverySpellingOfAnInstant(text: String, canonical: String) throws {
        let parsed = try #require(RFC3339.parse(text))
        #expect(RFC3339.format(seconds: parsed.seconds, microseconds: parsed.microseconds) == canonical)
        #expect(RFC3339.isCanonical(canonical))
        #expect(!RFC3339.isCanonical(text) || text == canonical)
    }

    @Test(arguments: ["2026-02-30T00:00:00Z", "2026-12-02T01:02:03", "2026-12-02T01:02:03.Z", "2026-12-02 01:02:03Z", "2026-12-02T01:02:03+0200", "2026-12-02T24:00:00Z", "x"])
    func rfc3339RefusesWhatIsNotADateTime(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(arguments: [
        (#"{"type":"dns_query","time":"2026-11-25T16:00:00.123456Z","cell_id":"c1","transport":"udp","client":"127.0.0.1:40000","qname":"allowed.test","qtype":"A","decision":"allow","reason":"allowed","rcode":"NOERROR","upstream_latency_us":312}"#,
         CellEventType.dnsQuery),
        (#"{"type":"dnsproxy_stats","time":"2026-11-25T16:00:01.000000Z","cell_id":"c1","queries_total":3,"allowed":2}"#, .helperStats),
        (#"{"type":"flow_event","time":"2026-11-25T16:00:00.000001Z","cell_id":"c1","verdict":"drop","rule":"default","protocol":"tcp","dport":53}"#, .networkFlowDecision),
        (#"{"type":"flow_summary","time":"2026-11-25T16:00:00.000002Z","cell_id":"c1","verdict":"accept","packets":3}"#, .networkFlowSummary),
        (#"{"type":"flowlog_stats","time":"2026-11-25T16:00:00.000003Z","cell_id":"c1","packets":9}"#, .helperStats),
        (#"{"type":"l7_egress_decision","time":"2026-11-25T16:00:00.000004Z","cell_id":"c1","name":"a.example.com","port":443,"decision":"allow","reason":"allowed"}"#, .l7EgressDecision),
        (#"{"type":"egressproxy_stats","time":"2026-11-25T16:00:00.000005Z","cell_id":"c1","connections":2}"#, .helperStats),
    ])
    func helperLinesAreWrappedWithTheirDataUnchanged(line: String, type: CellEventType) throws {
        let event = HelperEventWrapper(helper: "cellos-dnsproxy", stamper: Self.stamper).wrap(line: line)
        #expect(event.type == type.rawValue)
        #expect(event.source == "urn:cellos:host.test:cellos-dnsproxy")
        #expect(event.subject == "cell:c1")
        #expect(event.data == (try JSONParser.parse(line)))
        // The occurrence's time, not the broker's clock.
        #expect(event.time == (try JSONParser.parse(line)).objectValue?["time"]?.stringValue)
    }

    /// Classification is by `type` alone: a DNS-shaped line without it, an unknown
    /// type, or a line without a valid `time` is kept as unrecognized output.
    @Test(arguments: [
        "not json", "[1,2]", #"{"something":"else"}"#, #"{"a":1,"a":2}"#,
        #"{"time":"2026-11-25T16:00:00.123456Z","qname":"a.test","decision":"allow"}"#,
        #"{"stats":{"queries_total":3}}"#, #"{"type":"nope","time":"2026-11-25T16:00:00.123456Z"}"#,
        #"{"type":"dns_query","qname":"a.test"}"#, #"{"type":"dns_query","time":"2026-11-25T16:00:00Z"}"#,
    ])
    func unrecognizedHelperOutputIsKeptNotDropped(line: String) throws {
        let event = HelperEventWrapper(helper: "cellos-flowlog", stamper: Self.stamper).wrap(line: line)
        #expect(event.type == CellEventType.helperUnrecognizedOutput.rawValue)
        let data = try #require(event.data.objectValue)
        #expect(data["line"] == .string(line))
        #expect(data["helper"] == .string("cellos-flowlog"))
    }

    @Test func writerAppendsOneLinePerEventToAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        defer { unlink(path) }
        do {
            let writer = try EventWriter(destination: path)
            try writer.write(Self.stamper.event(.started, data: .object([:])))
            try writer.write(Self.stamper.event(.destroyed, data: .object(["reason": .string("exited")])))
            #expect(writer.count == 2)
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(try JSONParser.parse(String(lines[1])).objectValue?["type"] == .string(CellEventType.destroyed.rawValue))
        var info = stat()
        stat(path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }
}

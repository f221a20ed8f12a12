@testable import BrokerCore
import Foundation
import Glibc
import Testing

@Suite struct EventTests {
    static let stamper = EventStamper(cellID: "c1", host: "host.test", clock: { timespec(tv_sec: 1_764_086_400, tv_nsec: 123_456_789) })

    @Test func envelopeHasEveryCloudEventsAttribute() throws {
        let event = Self.stamper.event(.started, data: .object(["argv": .array([.string("/bin/true")])]))
        let members = try #require(try JSONParser.parse(event.line).objectValue)
        #expect(members["specversion"] == .string("1.0"))
        #expect(members["type"] == .string("dev.cellos.events.cell.lifecycle.v1.started"))
        #expect(members["source"] == .string("//host.test/cellos-broker"))
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
        #expect(RFC3339.format(timespec(tv_sec: 0, tv_nsec: 5000)) == "1970-01-01T00:00:00.000005Z")
    }

    @Test(arguments: [
        (#"{"time":"2026-11-25T16:00:00.123456Z","cell_id":"c1","transport":"udp","client":"127.0.0.1:40000","qname":"allowed.test","qtype":"A","decision":"allow","reason":"allowed","rcode":"NOERROR","upstream_latency_us":312}"#,
         CellEventType.dnsQuery),
        (#"{"stats":{"queries_total":3,"allowed":2}}"#, .helperStats),
        (#"{"type":"flow_event","time":"2026-11-25T16:00:00.000001Z","cell":"c1","verdict":"drop","rule":"default","protocol":"tcp","dport":53}"#, .networkFlowDecision),
        (#"{"type":"flow_summary","cell":"c1","verdict":"accept","packets":3}"#, .networkFlowSummary),
        (#"{"type":"flowlog_stats","cell":"c1","packets":9}"#, .helperStats),
        (#"{"type":"l7_egress_decision","cell_id":"c1","name":"a.example.com","port":443,"decision":"allow","reason":"allowed"}"#, .l7EgressDecision),
        (#"{"type":"egressproxy_stats","cell_id":"c1","connections":2}"#, .helperStats),
    ])
    func helperLinesAreWrappedWithTheirDataUnchanged(line: String, type: CellEventType) throws {
        let event = HelperEventWrapper(helper: "cellos-dnsproxy", stamper: Self.stamper).wrap(line: line)
        #expect(event.type == type.rawValue)
        #expect(event.source == "//host.test/cellos-dnsproxy")
        #expect(event.subject == "cell:c1")
        #expect(event.data == (try JSONParser.parse(line)))
    }

    @Test(arguments: ["not json", "[1,2]", #"{"something":"else"}"#, #"{"a":1,"a":2}"#])
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

@testable import DNSProxyCore
import Foundation
import Testing

@Suite struct EventTests {
    func render(_ record: QueryEventRecord, name: [UInt8], cellID: String = "cell-1") -> String {
        var out: [UInt8] = []
        var json = EventJSON(cellID: cellID)
        name.withUnsafeBytes { json.render(record, name: $0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func allowedEventHasEveryField() throws {
        var record = QueryEventRecord()
        record.realtimeNanoseconds = 1_764_086_400_123_456_789  // 2025-11-25T16:00:00.123456Z
        record.client = try #require(SocketAddress.parse("127.0.0.1:40000"))
        record.queryType = 28
        record.responseCode = 0
        record.upstreamLatencyMicroseconds = 321
        let line = render(record, name: DNSMessages.wire("WWW.Example.com"))
        #expect(line.hasSuffix("}\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2025-11-25T16:00:00.123456Z")
        #expect(object["cell_id"] as? String == "cell-1")
        #expect(object["transport"] as? String == "udp")
        #expect(object["client"] as? String == "127.0.0.1:40000")
        #expect(object["qname"] as? String == "www.example.com")
        #expect(object["qtype"] as? String == "AAAA")
        #expect(object["decision"] as? String == "allow")
        #expect(object["reason"] as? String == "allowed")
        #expect(object["rcode"] as? String == "NOERROR")
        #expect(object["upstream_latency_us"] as? Int == 321)
        #expect(object["detail"] == nil)
    }

    @Test func numbersAddressesAndTypesRenderExactly() throws {
        var record = QueryEventRecord()
        record.realtimeNanoseconds = 0
        record.client = try #require(SocketAddress.parse("[2001:db8::1]:53"))
        record.queryType = 4242
        record.responseCode = 3
        record.upstreamLatencyMicroseconds = 1_000_000
        let line = render(record, name: DNSMessages.wire(""))
        #expect(line == #"{"type":"dns_query","time":"1970-01-01T00:00:00.000000Z","cell_id":"cell-1","transport":"udp","client":"[2001:db8::1]:53","qname":".","qtype":"TYPE4242","decision":"allow","reason":"allowed","rcode":"NXDOMAIN","upstream_latency_us":1000000}"# + "\n")
        record.client = try #require(SocketAddress.parse("10.0.255.7:65535"))
        record.upstreamLatencyMicroseconds = 0
        #expect(render(record, name: []).contains(#""client":"10.0.255.7:65535""#))
        #expect(render(record, name: []).contains(#""upstream_latency_us":0}"#))
    }

    @Test func malformedEventHasNullsAndDetail() throws {
        var record = QueryEventRecord()
        record.reason = .malformedQuery
        record.malformed = .compressionPointer
        record.transport = .tcp
        let object = try #require(try JSONSerialization.jsonObject(with: Data(render(record, name: []).utf8)) as? [String: Any])
        #expect(object["qname"] is NSNull)
        #expect(object["qtype"] is NSNull)
        #expect(object["rcode"] is NSNull)
        #expect(object["upstream_latency_us"] is NSNull)
        #expect(object["decision"] as? String == "deny")
        #expect(object["reason"] as? String == "malformed_query")
        #expect(object["detail"] as? String == "compression_pointer")
        #expect(object["transport"] as? String == "tcp")
    }

    @Test func oddNameBytesStayValidJSON() throws {
        // A label holding '"', '\', '.', a space and a control byte.
        let name: [UInt8] = [6, 0x22, 0x5C, 0x2E, 0x20, 0x01, 0x41, 3, 0x63, 0x6F, 0x6D, 0]
        var record = QueryEventRecord()
        record.queryType = 1
        let object = try #require(try JSONSerialization.jsonObject(with: Data(render(record, name: name).utf8)) as? [String: Any])
        #expect(object["qname"] as? String == #"\034\\\.\032\001a.com"#)
    }

    @Test func everyReasonHasItsCode() {
        #expect(QueryReason.allCases.map(\.code) == [
            "allowed", "denied_name", "denied_qtype", "malformed_query", "upstream_timeout", "upstream_failure",
        ])
    }

    @Test func queueIsBoundedAndCountsDrops() {
        let queue = EventQueue(capacity: 16)
        var record = QueryEventRecord()
        let name = DNSMessages.wire("a.test")
        for index in 0 ..< 20 {
            record.queryType = Int32(index)
            name.withUnsafeBytes { queue.push(record, name: $0) }
        }
        #expect(queue.droppedCount == 4)
        var seen: [Int32] = []
        var names: [[UInt8]] = []
        #expect(queue.drain { record, name in seen.append(record.queryType); names.append(Array(name)) } == 16)
        #expect(seen == Array(0 ..< 16))
        #expect(names.allSatisfy { $0 == name })
        // Room again after draining.
        #expect(name.withUnsafeBytes { queue.push(record, name: $0) })
        #expect(queue.drain { _, _ in } == 1)
    }

    @Test func writerFlushesEverythingOnStop() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString).jsonl").path
        defer { unlink(path) }
        let writer = try EventWriter(path: path, cellID: "c", capacity: 1024)
        try writer.start()
        let name = DNSMessages.wire("a.test")
        for _ in 0 ..< 500 { name.withUnsafeBytes { _ = writer.queue.push(QueryEventRecord(), name: $0) } }
        writer.stop()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 500)
        #expect(writer.writtenCount == 500)
    }

    @Test func statsAreJSON() throws {
        var stats = ProxyStats()
        stats.queriesTotal = 5
        stats.deniedName = 2
        stats.deniedQueryType = 1
        let line = stats.json(cellID: "c\"1", time: "2026-11-25T16:00:01.000000Z")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "dnsproxy_stats")
        #expect(object["time"] as? String == "2026-11-25T16:00:01.000000Z")
        #expect(object["cell_id"] as? String == "c\"1")
        let counters = object.compactMapValues { $0 as? Int }
        #expect(counters["queries_total"] == 5)
        #expect(counters["denied"] == 3)
        for key in ["allowed", "malformed", "upstream_timeouts", "upstream_failures", "upstream_answers_dropped", "events_dropped"] {
            #expect(counters[key] == 0, "\(key)")
        }
    }
}

@testable import BrokerCore
import Foundation
import Glibc
import IPCWire
import Testing

/// A shell stand-in for cellos-dnsproxy writes real-format lines to its
/// `--events` FIFO; the pump turns them into signed CloudEvents in a file.
@Suite struct HelperEventPumpTests {
    static let query = #"{"type":"dns_query","time":"2026-11-25T16:00:00.123456Z","cell_id":"c1","transport":"udp","client":"127.0.0.1:40000","qname":"denied.test","qtype":"A","decision":"deny","reason":"denied_name","rcode":"REFUSED","upstream_latency_us":null}"#

    func run(_ script: String, _ body: (HelperEventPump) throws -> Void) throws -> [[String: JSONValue]] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pump-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        defer { unlink(path) }
        let key = Ed25519.PrivateKey()
        do {
            let writer = try EventWriter(destination: path, signer: EventSigner(privateKey: key))
            let supervisor = try HelperSupervisor(
                launch: HelperLaunch(executable: "/bin/sh", arguments: ["-c", script, "cellos-dnsproxy", "--events", HelperLaunch.eventsPlaceholder]),
                descriptors: DescriptorSet())
            try body(HelperEventPump(supervisor: supervisor, stamper: EventStamper(cellID: "c1", host: "h"), writer: writer))
        }
        let contents = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let lineCount = contents.split(separator: UInt8(ascii: "\n")).count
        #expect(EventFileVerification.check(contents, with: EventVerifier(publicKey: key.publicKey)) == .verified(events: lineCount))
        return try contents.split(separator: UInt8(ascii: "\n")).map { try #require(try JSONParser.parse(Array($0)).objectValue) }
    }

    @Test func linesBecomeSignedEventsAndFinalStatsArriveOnStop() throws {
        let script = #"exec 5>>"$2"; trap 'echo "{\"type\":\"dnsproxy_stats\",\"time\":\"2026-11-25T16:00:01.000000Z\",\"queries_total\":1}" >&5; exit 0' TERM; printf 'READY=1\n' >&"$CELLOS_NOTIFY_FD"; echo '\#(Self.query)' >&5; while :; do sleep 0.05; done"#
        let events = try run(script) { pump in
            var died: HelperExit?
            for _ in 0..<20 { died = try pump.pump(timeoutMilliseconds: 20) ?? died }
            #expect(died == nil)
            #expect(try pump.finish(graceMilliseconds: 5000) == HelperExit(termination: .exited(0), signalSent: SIGTERM))
        }
        #expect(events.map { $0["type"] } == [.string(CellEventType.dnsQuery.rawValue), .string(CellEventType.helperStats.rawValue)])
        #expect(events[0]["data"] == (try JSONParser.parse(Self.query)))
        #expect(events[0]["source"] == .string("urn:cellos:h:sh"))
        #expect(events.allSatisfy { $0["subject"] == .string("cell:c1") })
    }

    @Test func helperDyingMidRunIsReportedAsAFailureEvent() throws {
        let script = #"printf 'READY=1\n' >&"$CELLOS_NOTIFY_FD"; echo '\#(Self.query)' >> "$2"; kill -KILL $$"#
        let events = try run(script) { pump in
            var died: HelperExit?
            for _ in 0..<200 where died == nil { died = try pump.pump(timeoutMilliseconds: 20) }
            #expect(died == HelperExit(termination: .signaled(SIGKILL), signalSent: nil))
        }
        #expect(events.map { $0["type"] } == [.string(CellEventType.dnsQuery.rawValue), .string(CellEventType.helperFailed.rawValue)])
        #expect(events[1]["data"] == .object([
            "helper": .string("sh"), "reason": .string("ended while the cell was running: killed by signal 9"), "signal": .integer(9),
        ]))
    }
}

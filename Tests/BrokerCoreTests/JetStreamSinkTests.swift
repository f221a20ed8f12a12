@testable import BrokerCore
import CellosTestLab
import Foundation
import Glibc
import IPCWire
import Testing

/// The NATS JetStream sink against a real `nats-server -js` on loopback, read back
/// by an independent client (nats-py): every event once, in order, verifying;
/// an outage spools and `cellos-broker flush` delivers the rest after the restart.
@Suite(.serialized) struct JetStreamSinkTests {
    let key = Ed25519.PrivateKey()
    let stamper = EventStamper(cellID: "js-cell", host: "host.test")

    struct Lab {
        let server: NATSTestServer
        let spool: String
        var sink: String { "nats://127.0.0.1:\(server.port)/cellos.events" }

        init(stream: Bool = true) throws {
            server = try NATSTestServer()
            spool = FileManager.default.temporaryDirectory.appendingPathComponent("cellos-spool-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: false)
            if stream {
                let created = try TestPython.run("jetstream.py", [server.url, "create", "CELLOS", "cellos.events.>"])
                guard created.succeeded else { throw LabError("creating the stream: \(created.stderr)") }
            }
        }

        func writer(signer: EventSigner?, spoolMaxBytes: Int? = nil, events: String? = nil) throws -> EventWriter {
            try SinkSetup(events: events, sinks: [sink], spoolDirectory: spool, spoolMaxBytes: spoolMaxBytes).writer(signer: signer)
        }

        /// (stream seq, Nats-Msg-Id, event line) of every message on the cell's subject.
        func readBack() throws -> [(seq: Int, msgID: String, line: String)] {
            // This host's name, as the broker and `flush` (another process) both publish under it.
            let host = String(EventStamper.hostName().map { $0 == "." ? "_" : $0 })
            let read = try TestPython.run("jetstream.py", [server.url, "read", "CELLOS", "cellos.events.\(host).js-cell"])
            guard read.succeeded else { throw LabError("reading the stream: \(read.stderr)") }
            return read.stdout.split(separator: "\n").map { row in
                let parts = row.split(separator: " ", maxSplits: 2).map(String.init)
                return (Int(parts[0]) ?? -1, parts[1], parts[2])
            }
        }

        func spoolFiles() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasSuffix(".spool") }
        }
    }

    func events(_ count: Int, from start: Int = 0) -> [CloudEvent] {
        (start..<start + count).map { stamper.event(.nftCounter, data: .object(["rule": .string("r\($0)"), "verdict": .string("drop"), "packets": .integer($0), "bytes": .integer(0)])) }
    }

    func check(_ received: [(seq: Int, msgID: String, line: String)], are written: [CloudEvent]) throws {
        let verifier = EventVerifier(publicKey: key.publicKey)
        #expect(received.map(\.msgID) == written.map(\.id), "each event once, in order")
        #expect(received.map(\.seq) == Array(1...max(1, received.count)).prefix(received.count).map { $0 })
        for row in received { #expect(verifier.verify(line: Array(row.line.utf8)).failure == nil, "\(row.line)") }
        let file = received.map(\.line).joined(separator: "\n") + "\n"
        #expect(EventFileVerification.check(Array(file.utf8), with: verifier) == .verified(events: written.count))
    }

    @Test func everyEventArrivesOnceInOrderAcknowledged() throws {
        let lab = try Lab()
        let writer = try lab.writer(signer: EventSigner(privateKey: key))
        let written = try events(40).map { try writer.write($0) }
        writer.finish()
        #expect(lab.spoolFiles().isEmpty, "all acknowledged: nothing spooled")
        try check(try lab.readBack(), are: written)

        // `verify` and `summary` read the trail back from the subject, from a file and from stdin.
        let broker = try BuiltProducts.path(of: "cellos-broker")
        let publicKey = lab.spool + "/key.pub"
        try ("ed25519-public:" + Hex.encode(key.publicKey.rawRepresentation) + "\n").write(toFile: publicKey, atomically: true, encoding: .utf8)
        let fromNATS = try Shell.run([broker, "verify", "--key", publicKey, "\(lab.server.url)/cellos.events.*.js-cell"])
        #expect(fromNATS.status == 0 && fromNATS.stdout.hasSuffix("verified 40 events\n"), "\(fromNATS.stdout)\(fromNATS.stderr)")
        let summary = try Shell.run([broker, "summary", "\(lab.server.url)/cellos.events.>"])
        #expect(summary.status == 0 && summary.stdout.contains("r39 (drop): 39 packets") && summary.stdout.hasSuffix("40 events\n"), "\(summary.stdout)\(summary.stderr)")
        let lines = try lab.readBack().map(\.line).joined(separator: "\n") + "\n"
        let fromStdin = try Shell.run([broker, "verify", "--key", publicKey, "-"], input: lines)
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        let tampered = try Shell.run([broker, "verify", "--key", publicKey, "-"], input: lines.replacingOccurrences(of: "\"r7\"", with: "\"r8\""))
        #expect(tampered.status == 1 && tampered.stderr.contains("line 8"), "\(tampered.stderr)")
        let noStream = try Shell.run([broker, "verify", "--key", publicKey, "\(lab.server.url)/elsewhere.>"])
        #expect(noStream.status != 0 && noStream.stderr.contains("no JetStream stream holds elsewhere.>"), "\(noStream.stderr)")
    }

    /// The server stops mid-cell: events spool (each write bounded by the connect
    /// timeout, not hung), nothing is lost or duplicated once it is back and
    /// `cellos-broker flush` replays.
    @Test func anOutageSpoolsAndFlushDeliversEverythingOnceAfterTheRestart() throws {
        let lab = try Lab()
        let writer = try lab.writer(signer: EventSigner(privateKey: key))
        var written = try events(10).map { try writer.write($0) }
        #expect(writer.flushSpools(budget: 2000).allSatisfy { $0.left == 0 })
        lab.server.stop()
        let before = Monotonic.milliseconds()
        written += try events(10, from: 10).map { try writer.write($0) }
        writer.finish()
        // One connect attempt at most (then the retry interval spools without trying).
        #expect(Monotonic.milliseconds() - before < writer.timing.connectMilliseconds + writer.timing.finishMilliseconds + 500)
        #expect(lab.spoolFiles().count == 1)

        try lab.server.start()
        let broker = try BuiltProducts.path(of: "cellos-broker")
        let flush = try Shell.run([broker, "flush", "--sink", lab.sink, "--spool-dir", lab.spool], environment: ["CELLOS_BROKER_CONFIG": "/dev/null"])
        #expect(flush.status == 0, "\(flush.stderr)")
        #expect(flush.stdout.contains("delivered"), "\(flush.stdout)")
        #expect(lab.spoolFiles().isEmpty)
        try check(try lab.readBack(), are: written)
        // A second flush has nothing left to send, and sends no duplicate.
        #expect(try Shell.run([broker, "flush", "--sink", lab.sink, "--spool-dir", lab.spool], environment: ["CELLOS_BROKER_CONFIG": "/dev/null"]).status == 0)
        #expect(try lab.readBack().count == written.count)
    }

    /// The next run's writer replays an earlier run's spool before its own events.
    @Test func theNextRunReplaysTheSpoolFirst() throws {
        let lab = try Lab()
        lab.server.stop()
        let first = try lab.writer(signer: EventSigner(privateKey: key))
        var written = try events(5).map { try first.write($0) }
        first.finish()
        try lab.server.start()
        let second = try lab.writer(signer: EventSigner(privateKey: key))
        second.replaySpools()
        written += try events(5, from: 5).map { try second.write($0) }
        second.finish()
        #expect(lab.spoolFiles().isEmpty)
        try check(try lab.readBack(), are: written)
    }

    /// Without a stream for the subject the server answers "no responders": the
    /// events are not acknowledged, so they spool instead of being lost.
    @Test func noStreamMeansSpooledNotLost() throws {
        let lab = try Lab(stream: false)
        let writer = try lab.writer(signer: nil)
        for event in events(3) { try writer.write(event) }
        writer.finish()
        let files = lab.spoolFiles()
        #expect(files.count == 1)
        let spooled = try String(contentsOfFile: lab.spool + "/" + (files.first ?? ""), encoding: .utf8).split(separator: "\n")
        #expect(spooled.count == 3)
    }

    /// Past the spool's bound events are not kept, and a spool_overflow event says
    /// so on the other sinks (never silent).
    @Test func spoolOverflowIsAnErrorEvent() throws {
        let lab = try Lab()
        lab.server.stop()
        let file = lab.spool + "/events.jsonl"
        let writer = try lab.writer(signer: nil, spoolMaxBytes: 4096, events: file)
        writer.attach(stamper: stamper)
        for event in events(40) { try writer.write(event) }
        writer.finish()
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let overflows = lines.filter { $0.contains(CellEventType.spoolOverflow.rawValue) }
        #expect(!overflows.isEmpty)
        let data = try #require(try JSONParser.parse(String(overflows[0])).objectValue?["data"]?.objectValue)
        #expect(data["sink"] == .string(lab.sink))
        #expect(data["max_bytes"] == .integer(4096))
        let spoolBytes = try #require(try? FileManager.default.attributesOfItem(atPath: lab.spool + "/" + lab.spoolFiles()[0])[.size] as? Int)
        #expect(spoolBytes <= 4096)
    }
}

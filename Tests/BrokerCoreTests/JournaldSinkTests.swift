@testable import BrokerCore
import Foundation
import Glibc
import Testing

/// The journald sink's datagrams, read by a test socket at a temporary path, carry
/// the documented fields; a value with a newline cannot forge another field.
@Suite struct JournaldSinkTests {
    /// A bound AF_UNIX datagram socket standing in for /run/systemd/journal/socket.
    final class TestJournal {
        let path: String
        let fd: Int32

        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))").path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            guard bound == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EINVAL) }
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// The next datagram parsed as the native protocol: `NAME=value` lines or
        /// `NAME\n<le64 length><value>\n`; a malformed datagram is nil.
        func receive() -> [(String, [UInt8])]? {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 2000) == 1 else { return nil }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            let bytes = Array(buffer[0..<count])
            var fields: [(String, [UInt8])] = []
            var index = 0
            while index < bytes.count {
                guard let end = bytes[index...].firstIndex(where: { $0 == 0x0A || $0 == UInt8(ascii: "=") }) else { return nil }
                let name = String(decoding: bytes[index..<end], as: UTF8.self)
                if bytes[end] == UInt8(ascii: "=") {
                    guard let newline = bytes[end...].firstIndex(of: 0x0A) else { return nil }
                    fields.append((name, Array(bytes[(end + 1)..<newline])))
                    index = newline + 1
                } else {
                    guard end + 9 <= bytes.count else { return nil }
                    let length = bytes[(end + 1)..<(end + 9)].reversed().reduce(0) { $0 << 8 | Int($1) }
                    let start = end + 9
                    guard start + length < bytes.count, bytes[start + length] == 0x0A else { return nil }
                    fields.append((name, Array(bytes[start..<(start + length)])))
                    index = start + length + 1
                }
            }
            return fields
        }
    }

    @Test func datagramsCarryTheDocumentedFields() throws {
        let journal = try TestJournal()
        let writer = try SinkSetup(events: nil, sinks: ["journald:\(journal.path)"], spoolDirectory: FileManager.default.temporaryDirectory.path, spoolMaxBytes: nil).writer(signer: nil)
        let stamper = EventStamper(cellID: "jd-1", host: "h")
        let destroyed = try writer.write(stamper.event(.destroyed, data: .object(["reason": .string("timeout")])))
        let failed = try writer.write(stamper.event(.helperFailed, from: "cellos-dnsproxy", data: .object(["helper": .string("cellos-dnsproxy"), "reason": .string("died\nPRIORITY=0\nCELLOS_CELL_ID=other")])))
        for (event, priority, message) in [(destroyed, "4", "cell jd-1: lifecycle.v1.destroyed"), (failed, "3", "cell jd-1: helper.v1.failed")] {
            let fields = try #require(journal.receive())
            let names = fields.map(\.0)
            #expect(names == ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CELLOS_CELL_ID", "CELLOS_EVENT_TYPE", "CELLOS_EVENT_ID", "CELLOS_EVENT"])
            let value = Dictionary(fields.map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }, uniquingKeysWith: { first, _ in first })
            #expect(value["MESSAGE"] == message)
            #expect(value["PRIORITY"] == priority)
            #expect(value["SYSLOG_IDENTIFIER"] == "cellos-broker")
            #expect(value["CELLOS_CELL_ID"] == "jd-1")
            #expect(value["CELLOS_EVENT_TYPE"] == event.type)
            #expect(value["CELLOS_EVENT_ID"] == event.id)
            #expect(value["CELLOS_EVENT"] == event.line)
            // The newline inside the reason stayed inside CELLOS_EVENT: no forged field.
            #expect(names.filter { $0 == "PRIORITY" }.count == 1 && names.filter { $0 == "CELLOS_CELL_ID" }.count == 1)
        }
    }

    /// Values are sent in the binary form: a newline in a value read back from a
    /// spool (`type`, the cell id) stays inside it instead of starting a field.
    @Test func aNewlineInAValueCannotForgeAField() throws {
        let journal = try TestJournal()
        let line = Array(#"{"id":"e1","type":"x\nPRIORITY=0","subject":"cell:c\nCELLOS_CELL_ID=other","data":{}}"#.utf8)
        let record = try #require(SinkRecord(line: line))
        try JournaldSink(label: "journald", path: journal.path).send(record)
        let fields = try #require(journal.receive())
        #expect(fields.map(\.0) == ["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CELLOS_CELL_ID", "CELLOS_EVENT_TYPE", "CELLOS_EVENT_ID", "CELLOS_EVENT"])
        #expect(fields.first { $0.0 == "PRIORITY" }?.1 == Array("6".utf8))
        #expect(fields.first { $0.0 == "CELLOS_CELL_ID" }?.1 == Array("c\nCELLOS_CELL_ID=other".utf8))
    }

    /// journald not listening: the events spool instead of being lost.
    @Test func aMissingJournalSocketSpools() throws {
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("spool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let writer = try SinkSetup(events: nil, sinks: ["journald:\(spool)/no-journal"], spoolDirectory: spool, spoolMaxBytes: nil).writer(signer: nil)
        try writer.write(EventStamper(cellID: "jd-2", host: "h").event(.started, data: .object([:])))
        writer.finish()
        let files = try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasSuffix(".spool") }
        #expect(files.count == 1)
    }
}

@Suite struct NATSReplyParserTests {
    @Test func operationsSplitAnywhereParseTheSame() throws {
        let stream = Array("INFO {\"headers\":true}\r\nPING\r\n+OK\r\nMSG _INBOX.a.1 1 22\r\n{\"stream\":\"S\",\"seq\":1}\r\nHMSG _INBOX.a.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n-ERR 'Authorization Violation'\r\n".utf8)
        var whole = NATSReplyParser()
        let expected = try whole.feed(stream)
        #expect(expected.count == 6)
        #expect(expected[3] == .message(subject: "_INBOX.a.1", sid: "1", reply: nil, headers: [], payload: Array(#"{"stream":"S","seq":1}"#.utf8)))
        guard case .message(_, _, _, let headers, let payload) = expected[4] else { Issue.record("no HMSG"); return }
        #expect(NATSReplyParser.status(ofHeaders: headers) == 503 && payload.isEmpty)
        #expect(expected[5] == .error("Authorization Violation"))
        for cut in 1..<stream.count {
            var parser = NATSReplyParser()
            let parts = try parser.feed(stream[..<cut]) + parser.feed(stream[cut...])
            #expect(parts == expected, "cut at \(cut)")
        }
    }

    @Test(arguments: [
        "MSG a 1 99999999\r\n", "MSG a 1 -1\r\n", "HMSG a 1 10 5\r\n", "MSG a 1 2\r\nabc\r\n", "BOGUS\r\n", "MSG a\r\n",
        "PING\u{01}\r\n", String(repeating: "x", count: 5000),
    ])
    func malformedRepliesAreTypedErrors(text: String) {
        var parser = NATSReplyParser()
        #expect(throws: NATSReplyParser.ProtocolError.self) { try parser.feed(Array(text.utf8)) }
    }

    @Test func jetStreamAcknowledgementsAreChecked() {
        #expect(JetStreamSink.ackProblem(Array(#"{"stream":"S","seq":4}"#.utf8)) == nil)
        #expect(JetStreamSink.ackProblem(Array(#"{"stream":"S","seq":4,"duplicate":true}"#.utf8)) == nil)
        #expect(JetStreamSink.ackProblem(Array(#"{"error":{"code":503,"description":"no stream"}}"#.utf8)) == "JetStream refused the event: no stream")
        #expect(JetStreamSink.ackProblem(Array("+OK".utf8)) != nil)
    }

    @Test(arguments: [
        ("nats://127.0.0.1:4222/cellos.events", SinkSpec.nats(host: "127.0.0.1", port: 4222, subject: "cellos.events", credentialsPath: nil)),
        ("nats://[::1]:5000/a?credentials=/etc/cellos/nats.creds", .nats(host: "::1", port: 5000, subject: "a", credentialsPath: "/etc/cellos/nats.creds")),
        ("file:/var/log/cells.jsonl", .file(path: "/var/log/cells.jsonl")), ("journald", .journald(socket: "/run/systemd/journal/socket")),
    ])
    func sinkSpecsParse(text: String, spec: SinkSpec) throws {
        #expect(try SinkSpec.parse(text) == spec)
    }

    @Test(arguments: ["nats://u:p@h:1/s", "nats://h:0/s", "nats://h:1/a.*", "nats://h:1/", "nats://h:1/a..b", "nats://h:1", "kafka://x", "journald:rel", "file:"])
    func badSinkSpecsNameTheSink(text: String) {
        #expect(throws: SinkError.self) { try SinkSpec.parse(text) }
    }
}

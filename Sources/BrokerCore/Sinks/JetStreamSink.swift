import IPCWire

/// `nats://HOST:PORT/SUBJECT[?credentials=FILE]`: each event published to NATS
/// JetStream on `SUBJECT.<host>.<cell>` with the event id as `Nats-Msg-Id` (so a
/// re-publish after a lost acknowledgement is deduplicated by the stream), and
/// confirmed only by JetStream's publish acknowledgement `{"stream":…,"seq":…}`.
/// Publishes are pipelined: `send` does not wait; `settle` collects the acks.
/// The stream itself is the operator's (`nats stream add … --subjects 'SUBJECT.>'`);
/// without one, the server answers "no responders" and the events spool.
public final class JetStreamSink: EventSink {
    public let label: String
    let host: String
    let port: UInt16
    let subject: String
    let credentials: NATSCredentials?
    let timing: SinkTiming
    /// `SUBJECT.<host>.` with the host's dots as `_` (a subject token has none).
    let subjectPrefix: String
    private var connection: NATSConnection?
    private let inbox = "_INBOX.cellos" + Hex.encode(RandomBytes.bytes(8))
    private var nextReply: UInt64 = 0
    /// Sent, not yet acknowledged, by reply token; `order` keeps them oldest first.
    private var outstanding: [UInt64: SinkRecord] = [:]
    private var order: [UInt64] = []

    public init(label: String, host: String, port: UInt16, subject: String, credentials: NATSCredentials?, eventHost: String, timing: SinkTiming) {
        self.label = label
        self.host = host
        self.port = port
        self.subject = subject
        self.credentials = credentials
        self.timing = timing
        subjectPrefix = subject + "." + String(eventHost.map { $0 == "." || $0 == " " || $0 == "*" || $0 == ">" ? "_" : $0 }) + "."
    }

    func connected() throws(SinkError) -> NATSConnection {
        if let connection { return connection }
        do {
            let fresh = try NATSConnection(host: host, port: port, credentials: credentials, deadline: Monotonic.milliseconds() + timing.connectMilliseconds)
            try fresh.send(Array("SUB \(inbox).* 1\r\n".utf8))
            connection = fresh
            return fresh
        } catch {
            throw .unavailable(sink: label, reason: error.description)
        }
    }

    public func send(_ record: SinkRecord) throws(SinkError) {
        let connection = try connected()
        nextReply += 1
        let headers = "NATS/1.0\r\nNats-Msg-Id: \(record.id)\r\n\r\n"
        let target = subjectPrefix + (record.cellID.isEmpty ? "_" : record.cellID)
        let head = "HPUB \(target) \(inbox).\(nextReply) \(headers.utf8.count) \(headers.utf8.count + record.line.count)\r\n\(headers)"
        outstanding[nextReply] = record
        order.append(nextReply)
        do { try connection.send(Array(head.utf8) + record.line + [0x0D, 0x0A]) } catch {
            // A send that throws did not take the record: the caller keeps it.
            outstanding[nextReply] = nil
            order.removeLast()
            throw failed(error.description)
        }
    }

    public func settle(until deadline: Int64) throws(SinkError) -> Int {
        guard let connection else { return outstanding.count }
        repeat {
            let operations: [NATSReplyParser.Operation]
            do { operations = try connection.receive(until: outstanding.isEmpty ? 0 : deadline) } catch { throw failed(error.description) }
            for operation in operations {
                switch operation {
                case .message(let subject, _, _, let headers, let payload):
                    guard subject.hasPrefix(inbox + "."), let token = UInt64(subject.dropFirst(inbox.count + 1)), outstanding[token] != nil else { continue }
                    if let status = NATSReplyParser.status(ofHeaders: headers), status >= 300 {
                        throw failed(status == 503 ? "no JetStream stream takes \(subjectPrefix)> (no responders)" : "status \(status)")
                    }
                    if let problem = Self.ackProblem(payload) { throw failed(problem) }
                    outstanding[token] = nil
                case .error(let text):
                    throw failed("server error: \(text)")
                default:
                    continue
                }
            }
            order.removeAll { outstanding[$0] == nil }
        } while !outstanding.isEmpty && Monotonic.milliseconds() < deadline
        return outstanding.count
    }

    public func abandon() -> [SinkRecord] {
        let records = order.compactMap { outstanding[$0] }
        outstanding = [:]
        order = []
        connection = nil
        return records
    }

    private func failed(_ reason: String) -> SinkError {
        connection = nil
        return .unavailable(sink: label, reason: reason)
    }

    /// Nil for a JetStream publish acknowledgement, else why it is none.
    static func ackProblem(_ payload: [UInt8]) -> String? {
        guard case .object(let members)? = try? JSONParser.parse(payload, maxBytes: 64 * 1024) else { return "a reply that is not a JetStream acknowledgement" }
        if case .object(let error)? = members["error"] {
            return "JetStream refused the event: \(error["description"]?.stringValue ?? "no description")"
        }
        guard members["stream"]?.stringValue != nil, case .number? = members["seq"] else { return "an acknowledgement without stream and seq" }
        return nil
    }
}

import IPCWire

/// Reads a trail back from JetStream for `summary` and `verify`
/// (`nats://HOST:PORT/SUBJECT`, wildcards allowed: `cellos.events.web-3.>`): finds
/// the stream that holds SUBJECT (`$JS.API.STREAM.NAMES`), then fetches its
/// messages on SUBJECT one by one in stream order (`$JS.API.STREAM.MSG.GET` with
/// `next_by_subj`), with no consumer left behind. Returns them as event lines.
public enum JetStreamReader {
    public static func read(_ text: String, timing: SinkTiming = SinkTiming(), maxBytes: Int) throws(SinkError) -> [UInt8] {
        guard case .nats(let host, let port, let subject, let credentialsPath) = try SinkSpec.parseNATS(text, wildcards: true) else {
            throw .invalid(sink: text, problem: "not a nats:// subject")
        }
        let credentials = try credentialsPath.map { path throws(SinkError) in try NATSCredentials.read(path: path) }
        do {
            let connection = try NATSConnection(host: host, port: port, credentials: credentials, deadline: Monotonic.milliseconds() + timing.connectMilliseconds * 8)
            let inbox = "_INBOX.cellosread" + Hex.encode(RandomBytes.bytes(8))
            try connection.send(Array("SUB \(inbox).* 1\r\n".utf8))
            var token = 0
            func request(_ api: String, _ body: JSONValue) throws(SinkError) -> [String: JSONValue] {
                token += 1
                let payload = body.serializedBytes()
                do {
                    try connection.send(Array("PUB \(api) \(inbox).\(token) \(payload.count)\r\n".utf8) + payload + [0x0D, 0x0A])
                    let deadline = Monotonic.milliseconds() + 5000
                    while Monotonic.milliseconds() < deadline {
                        for case .message(let subject, _, _, let headers, let reply) in try connection.receive(until: deadline) where subject == "\(inbox).\(token)" {
                            if NATSReplyParser.status(ofHeaders: headers) == 503 { throw SinkError.unavailable(sink: text, reason: "JetStream is not enabled (no responders)") }
                            guard case .object(let members)? = try? JSONParser.parse(reply, maxBytes: NATSReplyParser.maxPayload) else {
                                throw SinkError.unavailable(sink: text, reason: "\(api): a reply that is not JSON")
                            }
                            return members
                        }
                    }
                } catch let error as SinkError {
                    throw error
                } catch {
                    throw .unavailable(sink: text, reason: "\(error)")
                }
                throw .unavailable(sink: text, reason: "\(api): no reply in 5 s")
            }
            let names = try request("$JS.API.STREAM.NAMES", .object(["subject": .string(subject)]))
            guard case .array(let streams)? = names["streams"], let stream = streams.first?.stringValue else {
                throw SinkError.invalid(sink: text, problem: "no JetStream stream holds \(subject)")
            }
            var lines: [UInt8] = []
            var sequence = 1
            while true {
                let reply = try request("$JS.API.STREAM.MSG.GET.\(stream)", .object(["seq": .integer(sequence), "next_by_subj": .string(subject)]))
                if case .object(let error)? = reply["error"] {
                    if error["code"] == .integer(404) { return lines }
                    throw SinkError.unavailable(sink: text, reason: "JetStream: \(error["description"]?.stringValue ?? "error")")
                }
                guard case .object(let message)? = reply["message"], case .number(let seqText)? = message["seq"], let seq = Int(seqText),
                    let data = message["data"]?.stringValue.flatMap(Base64.decode)
                else { throw SinkError.unavailable(sink: text, reason: "a stored message without seq or data") }
                lines += data + [0x0A]
                guard lines.count <= maxBytes else { throw SinkError.invalid(sink: text, problem: "more than \(maxBytes) bytes of events") }
                sequence = seq + 1
            }
        } catch let error as NATSConnection.Failure {
            throw .unavailable(sink: text, reason: error.description)
        } catch let error as SinkError {
            throw error
        } catch {
            throw .unavailable(sink: text, reason: "\(error)")
        }
    }
}

/// Standard base64 (RFC 4648 §4, padding required), strict: nil for anything else.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3)
        for chunk in stride(from: 0, to: bytes.count, by: 4) {
            var value: UInt32 = 0
            var padding = 0
            for (offset, byte) in bytes[chunk..<chunk + 4].enumerated() {
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = UInt32(byte - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt32(byte - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): digit = 62
                case UInt8(ascii: "/"): digit = 63
                case UInt8(ascii: "=") where chunk + 4 == bytes.count && offset >= 2:
                    padding += 1
                    digit = 0
                default: return nil
                }
                if padding > 0 && byte != UInt8(ascii: "=") { return nil }
                value = value << 6 | digit
            }
            out += [UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)].prefix(3 - padding)
        }
        return out
    }
}

/// The server side of the NATS client protocol, parsed from bytes the broker does
/// not trust (any host on the path can answer): incremental, bounded, strict.
/// Pure Swift with no imports, so `fuzz/targets/nats-reply` compiles it alone.
///
/// Operations (docs.nats.io, "Client Protocol"): `INFO {json}`, `PING`, `PONG`,
/// `+OK`, `-ERR 'text'`, `MSG <subject> <sid> [reply] <bytes>` and
/// `HMSG <subject> <sid> [reply] <header bytes> <total bytes>`, each control line
/// ending in CRLF, a message's payload followed by CRLF.
public struct NATSReplyParser {
    public enum Operation: Equatable, Sendable {
        case info([UInt8])
        case ping
        case pong
        case ok
        case error(String)
        /// `headers` is the raw header block (`NATS/1.0 503\r\n...`), empty for MSG.
        case message(subject: String, sid: String, reply: String?, headers: [UInt8], payload: [UInt8])
    }

    public struct ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { "NATS protocol error: \(reason)" }
    }

    public static let maxControlLine = 4096
    public static let maxPayload = 1 << 20

    private var buffer: [UInt8] = []
    private var start = 0
    /// A message whose control line was read, waiting for its payload.
    private var pending: (subject: String, sid: String, reply: String?, headerBytes: Int, totalBytes: Int)?

    public init() {}

    /// Appends received bytes and returns every complete operation, in order.
    /// After an error the parser must be discarded (the stream is out of step).
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(ProtocolError) -> [Operation] {
        buffer.append(contentsOf: bytes)
        var operations: [Operation] = []
        while let operation = try next() { operations.append(operation) }
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        return operations
    }

    private mutating func next() throws(ProtocolError) -> Operation? {
        if let message = pending {
            guard buffer.count - start >= message.totalBytes + 2 else { return nil }
            let body = Array(buffer[start..<start + message.totalBytes])
            guard buffer[start + message.totalBytes] == 0x0D, buffer[start + message.totalBytes + 1] == 0x0A else {
                throw ProtocolError(reason: "message payload not followed by CRLF")
            }
            start += message.totalBytes + 2
            pending = nil
            return .message(
                subject: message.subject, sid: message.sid, reply: message.reply,
                headers: Array(body[0..<message.headerBytes]), payload: Array(body[message.headerBytes...]))
        }
        guard let lineEnd = lineEnd() else {
            guard buffer.count - start <= Self.maxControlLine else { throw ProtocolError(reason: "control line longer than \(Self.maxControlLine) bytes") }
            return nil
        }
        let line = Array(buffer[start..<lineEnd])
        start = lineEnd + 2
        guard line.count <= Self.maxControlLine else { throw ProtocolError(reason: "control line longer than \(Self.maxControlLine) bytes") }
        guard line.allSatisfy({ $0 >= 0x20 && $0 < 0x7F || $0 == 0x09 }) else { throw ProtocolError(reason: "control line with a non-printable byte") }
        let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 }).map { String(decoding: $0, as: UTF8.self) }
        guard let verb = words.first?.uppercased() else { throw ProtocolError(reason: "empty control line") }
        switch verb {
        case "PING" where words.count == 1: return .ping
        case "PONG" where words.count == 1: return .pong
        case "+OK" where words.count == 1: return .ok
        case "-ERR":
            let text = String(decoding: line.dropFirst(4), as: UTF8.self).trimmingQuotesAndSpaces()
            return .error(text)
        case "INFO":
            guard words.count >= 2 else { throw ProtocolError(reason: "INFO without a body") }
            return .info(Array(line.drop { $0 != 0x20 && $0 != 0x09 }.dropFirst()))
        case "MSG" where words.count == 4 || words.count == 5:
            let total = try Self.size(words[words.count - 1])
            try beginMessage(words, reply: words.count == 5 ? words[3] : nil, headerBytes: 0, totalBytes: total)
            return try next()
        case "HMSG" where words.count == 5 || words.count == 6:
            let headerBytes = try Self.size(words[words.count - 2])
            let total = try Self.size(words[words.count - 1])
            guard headerBytes <= total else { throw ProtocolError(reason: "HMSG header size \(headerBytes) beyond its total \(total)") }
            try beginMessage(words, reply: words.count == 6 ? words[3] : nil, headerBytes: headerBytes, totalBytes: total)
            return try next()
        default:
            throw ProtocolError(reason: "unexpected operation \"\(String(verb.prefix(16)))\" with \(words.count - 1) arguments")
        }
    }

    private mutating func beginMessage(_ words: [String], reply: String?, headerBytes: Int, totalBytes: Int) throws(ProtocolError) {
        pending = (words[1], words[2], reply, headerBytes, totalBytes)
    }

    private func lineEnd() -> Int? {
        var index = start
        while index + 1 < buffer.count {
            if buffer[index] == 0x0D && buffer[index + 1] == 0x0A { return index }
            index += 1
        }
        return nil
    }

    static func size(_ word: String) throws(ProtocolError) -> Int {
        guard !word.isEmpty, word.utf8.count <= 8, word.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(word) else {
            throw ProtocolError(reason: "size \"\(String(word.prefix(16)))\" is not a decimal number")
        }
        guard value <= maxPayload else { throw ProtocolError(reason: "message of \(value) bytes beyond \(maxPayload)") }
        return value
    }

    /// The status code of an HMSG header block (`NATS/1.0 503` → 503), nil without one.
    public static func status(ofHeaders headers: [UInt8]) -> Int? {
        let firstLine = headers.prefix { $0 != 0x0D && $0 != 0x0A }
        let words = firstLine.split(separator: 0x20)
        guard words.count >= 2, words[0].elementsEqual("NATS/1.0".utf8), words[1].count == 3,
            words[1].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else { return nil }
        return Int(String(decoding: words[1], as: UTF8.self))
    }
}

extension String {
    fileprivate func trimmingQuotesAndSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "'" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "'" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

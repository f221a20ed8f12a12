/// One `--sink` value (docs/events.md, "Sinks"):
///
/// - `file:PATH` (`-`: standard output), what `--events PATH` means;
/// - `nats://HOST:PORT/SUBJECT[?credentials=FILE]`: NATS JetStream, subject
///   `SUBJECT.<host>.<cell>`;
/// - `journald` or `journald:SOCKET`: journald's native protocol.
public enum SinkSpec: Equatable, Sendable {
    case file(path: String)
    case nats(host: String, port: UInt16, subject: String, credentialsPath: String?)
    case journald(socket: String)

    public static func parse(_ text: String) throws(SinkError) -> SinkSpec {
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { throw .invalid(sink: text, problem: "file: needs a path (or -)") }
            return .file(path: path)
        }
        if text == "journald" { return .journald(socket: JournaldSink.defaultSocket) }
        if text.hasPrefix("journald:") {
            let socket = String(text.dropFirst(9))
            guard socket.hasPrefix("/") else { throw .invalid(sink: text, problem: "the journald socket must be an absolute path") }
            return .journald(socket: socket)
        }
        if text.hasPrefix("nats://") { return try parseNATS(text) }
        throw .invalid(sink: text, problem: "not file:PATH, nats://HOST:PORT/SUBJECT or journald[:SOCKET]")
    }

    /// `wildcards`: a subject to read (`*` and a final `>` token allowed), not one to publish on.
    static func parseNATS(_ text: String, wildcards: Bool = false) throws(SinkError) -> SinkSpec {
        var rest = Substring(text.dropFirst(7))
        var credentials: String?
        if let question = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: question)...]
            guard query.hasPrefix("credentials="), query.count > 12 else { throw .invalid(sink: text, problem: "the only query is ?credentials=FILE") }
            credentials = String(query.dropFirst(12))
            rest = rest[..<question]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw .invalid(sink: text, problem: "needs /SUBJECT after HOST:PORT") }
        let authority = rest[..<slash]
        let subject = String(rest[rest.index(after: slash)...])
        guard !authority.contains("@") else { throw .invalid(sink: text, problem: "no user or password in the URL (argv is public): use ?credentials=FILE") }
        let host: Substring
        let portText: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
            portText = authority[authority.index(after: close)...].drop { $0 == ":" }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
            portText = "4222"
        }
        guard !host.isEmpty else { throw .invalid(sink: text, problem: "no host") }
        guard let port = UInt16(portText), port > 0 else { throw .invalid(sink: text, problem: "\"\(portText)\" is not a port (1-65535)") }
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        guard !subject.isEmpty, subject.utf8.count <= 200,
            tokens.enumerated().allSatisfy({ index, token in
                if wildcards && (token == "*" || (token == ">" && index == tokens.count - 1)) { return true }
                return !token.isEmpty && token.utf8.allSatisfy { ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
            })
        else { throw .invalid(sink: text, problem: "subject \"\(subject)\" must be dot-separated tokens of A-Z a-z 0-9 _ - (no wildcards)") }
        return .nats(host: String(host), port: port, subject: subject, credentialsPath: credentials)
    }

    /// The sink, opened (files) or prepared (remote sinks connect on first use);
    /// credentials are read here, before the broker drops privileges.
    public func open(label: String, eventHost: String, timing: SinkTiming) throws(SinkError) -> EventSink {
        switch self {
        case .file(let path):
            do { return try FileSink(path: path) } catch { throw .invalid(sink: label, problem: "\(error)") }
        case .nats(let host, let port, let subject, let credentialsPath):
            let credentials = try credentialsPath.map { path throws(SinkError) in try NATSCredentials.read(path: path) }
            return JetStreamSink(label: label, host: host, port: port, subject: subject, credentials: credentials, eventHost: eventHost, timing: timing)
        case .journald(let socket):
            return JournaldSink(label: label, path: socket)
        }
    }

    public var isRemote: Bool {
        if case .file = self { return false }
        return true
    }
}

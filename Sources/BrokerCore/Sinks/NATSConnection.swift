#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// One TCP connection to a NATS server speaking the client protocol (plain TCP;
/// TLS is not implemented, docs/events.md): INFO, CONNECT, PING/PONG, SUB, HPUB.
/// Every wait has a deadline (monotonic milliseconds), so no caller blocks longer
/// than it chose.
final class NATSConnection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let socket: OwnedFD
    private var parser = NATSReplyParser()
    let endpoint: String

    /// Connects, reads INFO, sends CONNECT (with `credentials`) and waits for the
    /// PONG that proves the server accepted it, all before `deadline`.
    init(host: String, port: UInt16, credentials: NATSCredentials?, deadline: Int64) throws(Failure) {
        endpoint = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        // getaddrinfo on a name may block on DNS; use an address or a name in /etc/hosts.
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else {
            throw Failure(description: "\(endpoint): cannot resolve \(host)")
        }
        defer { freeaddrinfo(found) }
        let raw = Glibc.socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard raw >= 0 else { throw Failure(description: "\(endpoint): socket: \(SystemCallError("socket"))") }
        socket = OwnedFD(adopting: raw)
        var one: Int32 = 1
        setsockopt(raw, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if Glibc.connect(raw, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw Failure(description: "\(endpoint): connect: \(SystemCallError("connect"))") }
            guard try wait(for: Int16(POLLOUT), until: deadline) else { throw Failure(description: "\(endpoint): connect timed out") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(raw, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw Failure(description: "\(endpoint): connect: \(String(cString: strerror(error)))") }
        }
        guard case .info? = try receive(until: deadline).first else { throw Failure(description: "\(endpoint): no INFO from the server") }
        var options: [String: JSONValue] = [
            "verbose": .bool(false), "pedantic": .bool(false), "headers": .bool(true), "no_responders": .bool(true),
            "lang": .string("swift"), "version": .string("cellos"), "name": .string("cellos-broker"), "protocol": .integer(1),
        ]
        credentials?.add(to: &options)
        try send(Array("CONNECT \(JSONValue.object(options).serialized())\r\nPING\r\n".utf8))
        while true {
            let operations = try receive(until: deadline)
            if operations.isEmpty { throw Failure(description: "\(endpoint): no PONG after CONNECT") }
            for operation in operations {
                switch operation {
                case .pong: return
                case .error(let text): throw Failure(description: "\(endpoint): server refused CONNECT: \(text)")
                default: continue
                }
            }
        }
    }

    func send(_ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in retryingOnInterrupt { Glibc.send(socket.rawValue, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) } }
            if count > 0 {
                offset += count
            } else if errno == EAGAIN {
                // The kernel's send buffer is full: the server is slow; give it a moment.
                guard try wait(for: Int16(POLLOUT), until: Monotonic.milliseconds() + 200) else { throw Failure(description: "\(endpoint): send stalled") }
            } else {
                throw Failure(description: "\(endpoint): send: \(SystemCallError("send"))")
            }
        }
    }

    /// Operations received before `deadline` (at least one unless the deadline
    /// passed; with a past deadline, only what is already buffered). PINGs are
    /// answered here.
    func receive(until deadline: Int64) throws(Failure) -> [NATSReplyParser.Operation] {
        var operations: [NATSReplyParser.Operation] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        repeat {
            let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { recv(socket.rawValue, raw.baseAddress, raw.count, 0) } }
            if count == 0 { throw Failure(description: "\(endpoint): the server closed the connection") }
            if count < 0 {
                guard errno == EAGAIN else { throw Failure(description: "\(endpoint): recv: \(SystemCallError("recv"))") }
                if !operations.isEmpty { break }
                guard try wait(for: Int16(POLLIN), until: deadline) else { break }
                continue
            }
            do { operations += try parser.feed(chunk[0..<count]) } catch { throw Failure(description: "\(endpoint): \(error)") }
        } while true
        if operations.contains(.ping) { try send(Array("PONG\r\n".utf8)) }
        return operations.filter { $0 != .ping }
    }

    private func wait(for events: Int16, until deadline: Int64) throws(Failure) -> Bool {
        var poller = pollfd(fd: socket.rawValue, events: events, revents: 0)
        let left = max(0, deadline - Monotonic.milliseconds())
        let ready = retryingOnInterrupt { poll(&poller, 1, Int32(clamping: left)) }
        return ready > 0
    }
}

/// `credentials=FILE` of a NATS sink: `user=NAME` and `password=SECRET` lines, or
/// one `token=SECRET` line (`#` comments). Read once, before the broker drops
/// privileges, so the file can be root-only. (NATS `.creds` JWT/nkey files are not
/// supported.)
public struct NATSCredentials: Sendable, Equatable {
    var user: String?
    var password: String?
    var token: String?

    public static func read(path: String) throws(SinkError) -> NATSCredentials {
        let bytes: [UInt8]
        do { bytes = try FileInput.read(path: path, maxBytes: 64 * 1024) } catch { throw .invalid(sink: "credentials \(path)", problem: "\(error)") }
        var credentials = NATSCredentials()
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") && !line.allSatisfy({ $0 == " " }) {
            guard let equals = line.firstIndex(of: "=") else { throw .invalid(sink: "credentials \(path)", problem: "a line is not KEY=VALUE") }
            let value = String(line[line.index(after: equals)...])
            switch line[..<equals] {
            case "user": credentials.user = value
            case "password": credentials.password = value
            case "token": credentials.token = value
            default: throw .invalid(sink: "credentials \(path)", problem: "unknown key \"\(line[..<equals])\" (user, password, token)")
            }
        }
        guard (credentials.user != nil && credentials.password != nil && credentials.token == nil) || (credentials.token != nil && credentials.user == nil) else {
            throw .invalid(sink: "credentials \(path)", problem: "needs user= and password=, or token=")
        }
        return credentials
    }

    func add(to options: inout [String: JSONValue]) {
        if let user { options["user"] = .string(user) }
        if let password { options["pass"] = .string(password) }
        if let token { options["auth_token"] = .string(token) }
    }
}

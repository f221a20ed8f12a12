#if canImport(Glibc)
import Glibc
#endif
import CShim
import DNSProxyCore
import IPCWire

/// Resolves an allowed name (A, then AAAA) through the cell's upstream resolver
/// over UDP, from a fresh socket connected to the resolver so that only its
/// answers arrive, under a random ID. The proxy connects to these addresses
/// only: never to the destination the client chose.
public struct UpstreamResolver: Sendable {
    public let server: SocketAddress
    public let timeoutMilliseconds: Int32

    public init(server: SocketAddress, timeoutMilliseconds: Int32) {
        self.server = server
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public enum Failure: Error, Equatable {
        /// NXDOMAIN, SERVFAIL, no A/AAAA record, or an answer that fails the checks.
        case unresolved(String)
        case timeout
    }

    public func resolve(_ name: String, port: UInt16) throws(Failure) -> [SocketAddress] {
        guard let wire = DomainNameText.wire(name) else { throw .unresolved("not a name") }
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        var firstError = Failure.unresolved("no address")
        for type: UInt16 in [1, 28] {
            do {
                let found = try query(wire, type: type, port: port, deadline: deadline)
                if !found.isEmpty { return found }
            } catch {
                if error == .timeout { throw error }
                firstError = error
            }
        }
        throw firstError
    }

    func query(_ wire: [UInt8], type: UInt16, port: UInt16, deadline: Int64) throws(Failure) -> [SocketAddress] {
        var id: UInt16 = 0
        _ = withUnsafeMutableBytes(of: &id) { cellos_getrandom($0.baseAddress, 2) }
        var message: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        message += wire + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
        let raw = socket(server.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard raw >= 0 else { throw .unresolved("socket: errno \(errno)") }
        let owned = OwnedFD(adopting: raw)
        guard server.withSockaddr({ connect(owned.rawValue, $0, $1) }) == 0 else { throw .unresolved("connect: errno \(errno)") }
        guard message.withUnsafeBytes({ send(owned.rawValue, $0.baseAddress, $0.count, 0) }) == message.count else {
            throw .unresolved("send: errno \(errno)")
        }
        var answer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { throw .timeout }
            var poller = pollfd(fd: owned.rawValue, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(left))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { throw .timeout }
            let count = answer.withUnsafeMutableBytes { recv(owned.rawValue, $0.baseAddress, $0.count, 0) }
            // A refused ICMP port-unreachable comes back as ECONNREFUSED on the connected socket.
            guard count >= 0 else { throw .unresolved("recv: errno \(errno)") }
            let received = Array(answer[..<count])
            // Another ID is a stale or forged answer: keep waiting for ours.
            guard count >= 12, UInt16(received[0]) << 8 | UInt16(received[1]) == id else { continue }
            return try DNSAnswerAddresses.parse(received, question: Array(message[12...]), port: port)
        }
    }
}

/// The A/AAAA records of an answer to one question (RFC 1035 §4.1).
enum DNSAnswerAddresses {
    static func parse(_ answer: [UInt8], question: [UInt8], port: UInt16) throws(UpstreamResolver.Failure) -> [SocketAddress] {
        guard answer[2] & 0x80 != 0 else { throw .unresolved("not a response") }
        let rcode = answer[3] & 0x0F
        guard rcode == 0 else { throw .unresolved(DNSResponseCode.name(rcode)) }
        let questions = Int(answer[4]) << 8 | Int(answer[5])
        let answers = Int(answer[6]) << 8 | Int(answer[7])
        guard questions == 1, answer.count >= 12 + question.count,
              Array(answer[12 ..< 12 + question.count]).map(lower) == question.map(lower) else { throw .unresolved("question not echoed") }
        var cursor = 12 + question.count
        var found: [SocketAddress] = []
        for _ in 0 ..< answers {
            guard let afterName = skipName(answer, from: cursor), afterName + 10 <= answer.count else { throw .unresolved("truncated answer") }
            let type = UInt16(answer[afterName]) << 8 | UInt16(answer[afterName + 1])
            let length = Int(answer[afterName + 8]) << 8 | Int(answer[afterName + 9])
            let data = afterName + 10
            guard data + length <= answer.count else { throw .unresolved("truncated record") }
            if type == 1, length == 4 {
                let text = answer[data ..< data + 4].map(String.init).joined(separator: ".")
                if let address = SocketAddress.parse("\(text):\(port)") { found.append(address) }
            } else if type == 28, length == 16 {
                var raw = in6_addr()
                withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: answer[data ..< data + 16]) }
                var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
                _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                let presentation = String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let address = SocketAddress.parse("[\(presentation)]:\(port)") { found.append(address) }
            }
            cursor = data + length
        }
        return found
    }

    static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte | 0x20 : byte }

    /// Index after a (possibly compressed) name.
    static func skipName(_ bytes: [UInt8], from start: Int) -> Int? {
        var cursor = start
        while cursor < bytes.count {
            let length = bytes[cursor]
            if length & 0xC0 == 0xC0 { return cursor + 2 <= bytes.count ? cursor + 2 : nil }
            guard length & 0xC0 == 0 else { return nil }
            if length == 0 { return cursor + 1 }
            cursor += 1 + Int(length)
        }
        return nil
    }
}

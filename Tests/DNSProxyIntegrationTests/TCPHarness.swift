import CellosTestLab
import Foundation

/// A blocking TCP client for raw DNS-over-TCP messages (length-prefixed).
final class TestTCPClient {
    let fd: Int32

    init(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw HarnessError("connect: errno \(errno)") }
    }

    deinit { close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func framed(_ message: [UInt8]) -> [UInt8] { Wire.be(UInt16(message.count)) + message }

    /// Reads one length-prefixed message; nil on EOF or after `milliseconds` of silence.
    func receive(milliseconds: Int32 = 2000) -> [UInt8]? {
        guard let prefix = read(2, milliseconds: milliseconds) else { return nil }
        return read(Int(Wire.u16(prefix, 0)), milliseconds: milliseconds)
    }

    /// True when the peer closed the connection within `milliseconds`.
    func closedByPeer(milliseconds: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) <= 0
    }

    private func read(_ count: Int, milliseconds: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count < count {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, milliseconds) == 1 else { return nil }
            var chunk = [UInt8](repeating: 0, count: count - bytes.count)
            let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard got > 0 else { return nil }
            bytes += chunk[..<got]
        }
        return bytes
    }
}

/// A scripted upstream on one port for both transports: UDP queries are answered
/// with TC set and no records; TCP queries with an A record. Runs on a thread
/// until it has answered one TCP query or `stop` is called.
final class TruncatingUpstream: @unchecked Sendable {
    let udp: TestUDPSocket
    let tcpListener: Int32
    var port: UInt16 { udp.port }
    private let lock = NSLock()
    private var _udpQueries = 0
    private var _tcpQueries = 0
    private var thread: Thread?
    private var stopping = false
    var udpQueries: Int { lock.withLock { _udpQueries } }
    var tcpQueries: Int { lock.withLock { _tcpQueries } }

    init() throws {
        var attempt = 0
        while true {
            let udp = try TestUDPSocket()
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = udp.port.bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 && listen(fd, 8) == 0 {
                self.udp = udp
                tcpListener = fd
                break
            }
            close(fd)
            attempt += 1
            guard attempt < 20 else { throw HarnessError("no port free for UDP and TCP") }
        }
        let thread = Thread { [self] in serve() }
        self.thread = thread
        thread.start()
    }

    deinit { close(tcpListener) }

    func stop() { lock.withLock { stopping = true } }

    private func serve() {
        while !lock.withLock({ stopping }) {
            var pollers = [pollfd(fd: udp.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: tcpListener, events: Int16(POLLIN), revents: 0)]
            guard poll(&pollers, 2, 50) > 0 else { continue }
            if pollers[0].revents != 0, let query = udp.receive(milliseconds: 0) {
                var answer = query.bytes
                answer[2] |= 0x82  // QR, TC
                answer[3] = 0x80
                udp.send(answer, toPort: query.port)
                lock.withLock { _udpQueries += 1 }
            }
            if pollers[1].revents != 0 {
                let connection = accept(tcpListener, nil, nil)
                guard connection >= 0 else { continue }
                defer { close(connection) }
                var prefix = [UInt8](repeating: 0, count: 2)
                guard recv(connection, &prefix, 2, Int32(MSG_WAITALL)) == 2 else { continue }
                var query = [UInt8](repeating: 0, count: Int(Wire.u16(prefix, 0)))
                guard recv(connection, &query, query.count, Int32(MSG_WAITALL)) == query.count else { continue }
                let questionEnd = 12 + query[12...].firstIndex(of: 0)! - 12 + 1 + 4
                let answer = Wire.answer(id: Wire.u16(query, 0), question: query[12 ..< questionEnd], address: [192, 0, 2, 77])
                let framed = TestTCPClient.framed(answer)
                _ = framed.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                lock.withLock { _tcpQueries += 1 }
            }
        }
    }
}

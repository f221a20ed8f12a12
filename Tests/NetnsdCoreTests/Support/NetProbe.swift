import Foundation

/// Minimal socket clients for checking what the firewall lets through. They run
/// on the calling thread, so call them inside the namespace under test.
enum NetProbe {
    /// Connects over TCP without blocking and waits up to `timeoutMilliseconds` for
    /// the handshake: 0 on success, else the errno (ETIMEDOUT when nothing came
    /// back, which is what a SYN dropped by the firewall looks like: TCP keeps
    /// retransmitting it instead of failing). The socket is closed either way.
    static func tcpConnect(_ address: String, _ port: UInt16, timeoutMilliseconds: Int32 = 500) -> Int32 {
        let isV6 = address.contains(":")
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let result = withSocketAddress(address, port) { connect(fd, $0, $1) }
        if result == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return ETIMEDOUT }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error
    }

    /// Sends one UDP datagram; 0 when the kernel accepted it, else the errno.
    static func udpSend(_ address: String, _ port: UInt16, _ payload: [UInt8] = [0x12, 0x34]) -> Int32 {
        let isV6 = address.contains(":")
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let sent = withSocketAddress(address, port) { address, length in
            payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
        return sent >= 0 ? 0 : errno
    }

    static func withSocketAddress<R>(_ address: String, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if address.contains(":") {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            precondition(inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1, "bad test address \(address)")
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        precondition(inet_pton(AF_INET, address, &sin.sin_addr) == 1, "bad test address \(address)")
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// A listening TCP socket on `address:port` in the calling thread's netns; the
    /// kernel completes handshakes into its backlog, so no accept loop is needed.
    static func tcpListener(_ address: String, _ port: UInt16) throws -> Int32 {
        let isV6 = address.contains(":")
        let fd = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withSocketAddress(address, port) { bind(fd, $0, $1) }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = errno
            close(fd)
            throw POSIXError(.init(rawValue: error) ?? .EIO)
        }
        return fd
    }
}

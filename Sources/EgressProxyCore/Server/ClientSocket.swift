#if canImport(Glibc)
import Glibc
#endif
import DNSProxyCore
import IPCWire

/// What the kernel knows about an accepted connection.
enum ClientSocket {
    /// netfilter's SO_ORIGINAL_DST (linux/netfilter_ipv4.h) and IP6T_SO_ORIGINAL_DST
    /// (linux/netfilter_ipv6/ip6_tables.h) share the number 80.
    static let originalDestinationOption: Int32 = 80

    /// The address the client connected to before the cell's nft redirect, or nil
    /// when the connection was not redirected (it is for the listener itself:
    /// explicit proxy mode). Without conntrack state the kernel says ENOENT; with
    /// it, an unredirected connection reports the listener's own address.
    static func originalDestination(_ fd: Int32, family: Int32) -> SocketAddress? {
        var storage = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let level = family == AF_INET6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP)
        let result = withUnsafeMutableBytes(of: &storage) { getsockopt(fd, level, originalDestinationOption, $0.baseAddress, &length) }
        guard result == 0 else { return nil }
        let original = SocketAddress.from(storage)
        guard let local = address(fd, peer: false), original.description != local.description else { return nil }
        return original
    }

    static func address(_ fd: Int32, peer: Bool) -> SocketAddress? {
        var storage = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let result = withUnsafeMutableBytes(of: &storage) { raw in
            raw.baseAddress!.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            }
        }
        return result == 0 ? SocketAddress.from(storage) : nil
    }

    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// Writes all of `bytes` to a non-blocking socket within `milliseconds`.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], milliseconds: Int32) -> Bool {
        var offset = 0
        let deadline = Monotonic.milliseconds() + Int64(milliseconds)
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count > 0 { offset += count; continue }
            guard count < 0, errno == EAGAIN || errno == EINTR else { return false }
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { return false }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&poller, 1, Int32(left))
        }
        return true
    }
}

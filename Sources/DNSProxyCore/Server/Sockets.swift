#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Socket set-up for standalone mode and the upstream side.
enum Sockets {
    /// A UDP socket bound to `address` (standalone mode's listener).
    static func boundUDP(_ address: SocketAddress) throws(SystemCallError) -> OwnedFD {
        let fd = OwnedFD(adopting: try systemCall("socket(udp)") {
            socket(address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        try bind(fd, address)
        return fd
    }

    /// A TCP socket bound to `address` and listening (standalone mode).
    static func listeningTCP(_ address: SocketAddress, backlog: Int32 = 256) throws(SystemCallError) -> OwnedFD {
        let fd = OwnedFD(adopting: try systemCall("socket(tcp)") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        var one: Int32 = 1
        try systemCall("setsockopt(SO_REUSEADDR)") {
            setsockopt(fd.rawValue, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        try bind(fd, address)
        try systemCall("listen", context: "\(address)") { listen(fd.rawValue, backlog) }
        return fd
    }

    /// An unconnected UDP socket on an ephemeral port for talking to the upstream,
    /// created in the proxy's own network namespace. Unconnected so that datagrams
    /// from other sources still arrive and are counted as dropped, not hidden.
    static func upstreamUDP(family: Int32) throws(SystemCallError) -> OwnedFD {
        let fd = OwnedFD(adopting: try systemCall("socket(upstream udp)") {
            socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        })
        var size: Int32 = 4 << 20
        // Best effort: a bigger receive buffer absorbs bursts; the kernel caps it at rmem_max.
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// SO_TYPE of `fd` (SOCK_DGRAM, SOCK_STREAM), to check inherited sockets.
    static func type(of fd: Int32) throws(SystemCallError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try systemCall("getsockopt(SO_TYPE)", context: "fd \(fd)") { getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &length) }
        return value
    }

    /// The address `fd` is bound to.
    static func localAddress(of fd: Int32) throws(SystemCallError) -> SocketAddress {
        var address = SocketAddress()
        var length = SocketAddress.capacity
        try systemCall("getsockname") {
            withUnsafeMutablePointer(to: &address.storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
        }
        return address
    }

    private static func bind(_ fd: borrowing OwnedFD, _ address: SocketAddress) throws(SystemCallError) {
        let raw = fd.rawValue
        try systemCall("bind", context: "\(address)") {
            address.withSockaddr { pointer, length in Glibc.bind(raw, pointer, length) }
        }
    }
}

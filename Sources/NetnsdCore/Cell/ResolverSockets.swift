#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The DNS listener sockets of a cell, created (and so living) in the netns of the
/// calling thread: a bound UDP socket and a bound, listening TCP socket on the
/// resolver address. They are handed to `cellos-dnsproxy`, which never enters
/// the cell netns.
struct ResolverSockets: ~Copyable {
    static let tcpBacklog: Int32 = 128

    let udp: OwnedFD
    let tcp: OwnedFD

    init(bindingHere resolver: ResolverAddress) throws(SystemCallError) {
        let what = "DNS listener \(resolver)"
        let udp = try Self.boundSocket(resolver, type: SOCK_DGRAM, context: "UDP \(what)")
        let tcp = try Self.boundSocket(resolver, type: SOCK_STREAM, context: "TCP \(what)")
        try systemCall("listen", context: "TCP \(what)") { listen(tcp.rawValue, Self.tcpBacklog) }
        self.udp = udp
        self.tcp = tcp
    }

    static func boundSocket(_ resolver: ResolverAddress, type: __socket_type, context: String) throws(SystemCallError) -> OwnedFD {
        let family = resolver.address.isV6 ? AF_INET6 : AF_INET
        let socket = OwnedFD(adopting: try systemCall("socket", context: context) {
            Glibc.socket(family, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        var one: Int32 = 1
        if type == SOCK_STREAM {
            // A restarted proxy must be able to rebind while old connections linger in TIME_WAIT.
            try systemCall("setsockopt(SO_REUSEADDR)", context: context) {
                setsockopt(socket.rawValue, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
        }
        if resolver.address.isV6 {
            try systemCall("setsockopt(IPV6_V6ONLY)", context: context) {
                setsockopt(socket.rawValue, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
        }
        let bytes = resolver.address.bytes
        let result: Int32
        if resolver.address.isV6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = resolver.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = resolver.port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard result == 0 else { throw SystemCallError("bind", context: context) }
        return socket
    }
}

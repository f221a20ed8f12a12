#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The egress proxy's side of a cell with an L7 section, set up on the thread
/// inside the cell netns: a listening TCP socket on the loopback listener
/// (`l7-tcp`, handed to `cellos-egressproxy`, which stays in the host netns),
/// and for transparent mode a default route onto `lo` with source 127.0.0.1.
/// Without that route connect(2) to any outside address fails (ENETUNREACH)
/// before the nft redirect could run, and without the source the replies to the
/// redirected connection would be addressed to 0.0.0.0. It has the largest
/// metric, so an uplink's default route, when the cell has one, wins.
enum L7Listener {
    static let backlog: Int32 = 256
    static let loopbackRouteMetric: UInt32 = 0xFFFF_FFFF

    static func bindHere(_ l7: L7Egress) throws -> OwnedFD {
        let socket = try ResolverSockets.boundSocket(l7.listener, type: SOCK_STREAM, context: "TCP L7 listener \(l7.listener)")
        try systemCall("listen", context: "TCP L7 listener \(l7.listener)") { listen(socket.rawValue, backlog) }
        if !l7.redirectedPorts.isEmpty { try LinkControl.addLoopbackDefaultRoute(ipv6: false, metric: loopbackRouteMetric) }
        return socket
    }

    /// The IPv6 listener (`l7-tcp6`, `[::1]` on the listener's port, IPV6_V6ONLY)
    /// and the IPv6 `local` default route onto `lo`, in transparent mode only
    /// (explicit clients are told the IPv4 URL). A separate socket, not one
    /// dual-stack socket: a dual-stack socket takes IPv4 only when bound to `::`,
    /// which would listen on every address of the cell, not just loopback. nil
    /// when the cell has no IPv6 (a kernel without it, or `disable_ipv6` on `lo`:
    /// EAFNOSUPPORT or EADDRNOTAVAIL); the IPv6 redirect rule then matches nothing
    /// that could connect anyway.
    static func bindHere6(_ l7: L7Egress) throws -> OwnedFD? {
        guard !l7.redirectedPorts.isEmpty, let socket = try boundIfIPv6(l7.listener6) else { return nil }
        try systemCall("listen", context: "TCP L7 listener \(l7.listener6)") { listen(socket.rawValue, backlog) }
        try LinkControl.addLoopbackDefaultRoute(ipv6: true, metric: loopbackRouteMetric)
        return socket
    }

    private static func boundIfIPv6(_ address: ResolverAddress) throws(SystemCallError) -> OwnedFD? {
        do {
            return try ResolverSockets.boundSocket(address, type: SOCK_STREAM, context: "TCP L7 listener \(address)")
        } catch {
            if error.errno == EAFNOSUPPORT || error.errno == EADDRNOTAVAIL { return nil }
            throw error
        }
    }
}

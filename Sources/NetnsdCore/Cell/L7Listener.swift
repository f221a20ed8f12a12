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
        if !l7.redirectedPorts.isEmpty { try LinkControl.addLoopbackDefaultRoute(metric: loopbackRouteMetric) }
        return socket
    }
}

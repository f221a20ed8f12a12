#if canImport(Glibc)
import Glibc
#endif
import CMnl
import CNetnsdShim
import IPCWire
import NetworkNamespaces

/// Interface configuration over rtnetlink (libmnl): one request, one
/// acknowledgement, and the kernel's errno surfaced when it refuses.
///
/// An rtnetlink socket acts on the network namespace it was created in, so the
/// socket is opened on a thread inside the target netns.
public enum LinkControl {
    /// The loopback interface's index in every network namespace.
    public static let loopbackIndex: Int32 = 1

    /// Brings `lo` up inside the netns `namespace`.
    public static func bringLoopbackUp(in namespace: borrowing OwnedFD) throws {
        try NetworkNamespace.run(in: namespace) { try setUpHere(index: loopbackIndex) }
    }

    /// Sets `IFF_UP` on interface `index` in the calling thread's netns
    /// (`RTM_NEWLINK` with `ifi_change = IFF_UP`, `NLM_F_ACK`).
    public static func setUpHere(index: Int32) throws(SystemCallError) {
        try RouteNetlink.request(type: Int32(RTM_NEWLINK), flags: 0, context: "ifindex \(index)") { header in
            let info = RouteNetlink.putHeader(header, ifinfomsg.self)
            info.pointee.ifi_family = UInt8(AF_UNSPEC)
            info.pointee.ifi_index = index
            info.pointee.ifi_flags = UInt32(IFF_UP)
            info.pointee.ifi_change = UInt32(IFF_UP)
        }
    }

    /// A default route onto `lo` with priority `metric`, in the calling thread's
    /// netns (`L7Listener` says why a cell wants one). IPv4: unicast, source
    /// 127.0.0.1. IPv6: of type `local`, because the kernel turns a unicast IPv6
    /// route via a loopback device into a reject route (ENETUNREACH); the
    /// connection then leaves over `lo` from ::1 and the nat hook redirects it.
    /// Here rather than beside its caller: libmnl's headers stay with the rtnetlink code.
    static func addLoopbackDefaultRoute(ipv6: Bool, metric: UInt32) throws(SystemCallError) {
        try RouteNetlink.request(
            type: Int32(RTM_NEWROUTE), flags: Int32(NLM_F_CREATE | NLM_F_EXCL),
            context: "\(ipv6 ? "IPv6 local" : "IPv4") default route onto lo for the L7 redirect"
        ) { header in
            let route = RouteNetlink.putHeader(header, rtmsg.self)
            route.pointee.rtm_family = UInt8(ipv6 ? AF_INET6 : AF_INET)
            route.pointee.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
            route.pointee.rtm_protocol = UInt8(RTPROT_BOOT)
            route.pointee.rtm_scope = UInt8(ipv6 ? RT_SCOPE_HOST.rawValue : RT_SCOPE_LINK.rawValue)
            route.pointee.rtm_type = UInt8(ipv6 ? RTN_LOCAL : RTN_UNICAST)
            if !ipv6 {
                var source = in_addr(s_addr: inet_addr("127.0.0.1"))
                withUnsafeBytes(of: &source) { mnl_attr_put(header, UInt16(RTA_PREFSRC.rawValue), $0.count, $0.baseAddress) }
            }
            mnl_attr_put_u32(header, UInt16(RTA_OIF.rawValue), UInt32(loopbackIndex))
            mnl_attr_put_u32(header, UInt16(RTA_PRIORITY.rawValue), metric)
        }
    }
}

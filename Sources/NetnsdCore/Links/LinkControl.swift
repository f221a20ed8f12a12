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
}

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
        let interface = "ifindex \(index)"
        guard let socket = mnl_socket_open2(NETLINK_ROUTE, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw SystemCallError("mnl_socket_open(NETLINK_ROUTE)", context: interface)
        }
        defer { mnl_socket_close(socket) }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            throw SystemCallError("mnl_socket_bind", context: interface)
        }

        // MNL_SOCKET_BUFFER_SIZE (a sysconf expression) is at most 8 KiB.
        let bufferSize = 8192
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: bufferSize)

        let sequence = UInt32(truncatingIfNeeded: Monotonic.milliseconds())
        let header = mnl_nlmsg_put_header(buffer)!
        header.pointee.nlmsg_type = UInt16(RTM_NEWLINK)
        header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK)
        header.pointee.nlmsg_seq = sequence
        let info = mnl_nlmsg_put_extra_header(header, MemoryLayout<ifinfomsg>.size)!.assumingMemoryBound(to: ifinfomsg.self)
        info.pointee.ifi_family = UInt8(AF_UNSPEC)
        info.pointee.ifi_index = index
        info.pointee.ifi_flags = UInt32(IFF_UP)
        info.pointee.ifi_change = UInt32(IFF_UP)

        guard mnl_socket_sendto(socket, header, Int(header.pointee.nlmsg_len)) >= 0 else {
            throw SystemCallError("mnl_socket_sendto(RTM_NEWLINK)", context: interface)
        }
        let portID = mnl_socket_get_portid(socket)
        // mnl_cb_run returns MNL_CB_OK while messages continue, MNL_CB_STOP on the
        // acknowledgement, and -1 with errno set from an NLMSG_ERROR reply.
        var status = Int32(MNL_CB_OK)
        while status == Int32(MNL_CB_OK) {
            let received = retryingOnInterrupt { mnl_socket_recvfrom(socket, buffer, bufferSize) }
            guard received >= 0 else { throw SystemCallError("mnl_socket_recvfrom", context: interface) }
            status = mnl_cb_run(buffer, received, sequence, portID, nil, nil)
        }
        guard status != Int32(MNL_CB_ERROR) else { throw SystemCallError("RTM_NEWLINK(IFF_UP)", context: interface) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CMnl
import CNetnsdShim
import IPCWire

/// One rtnetlink request with an acknowledgement, built with libmnl on a socket
/// opened in the calling thread's netns (an rtnetlink socket acts on the netns
/// it was created in). `build` fills in the message after its header.
enum RouteNetlink {
    static let bufferSize = 8192

    static func request(
        type: Int32, flags: Int32, context: String, _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) throws(SystemCallError) {
        guard let socket = mnl_socket_open2(NETLINK_ROUTE, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw SystemCallError("mnl_socket_open(NETLINK_ROUTE)", context: context)
        }
        defer { mnl_socket_close(socket) }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            throw SystemCallError("mnl_socket_bind", context: context)
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: bufferSize)

        let sequence = UInt32(truncatingIfNeeded: Monotonic.milliseconds())
        let header = mnl_nlmsg_put_header(buffer)!
        header.pointee.nlmsg_type = UInt16(type)
        header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK | flags)
        header.pointee.nlmsg_seq = sequence
        build(header)

        guard mnl_socket_sendto(socket, header, Int(header.pointee.nlmsg_len)) >= 0 else {
            throw SystemCallError("mnl_socket_sendto", context: context)
        }
        let portID = mnl_socket_get_portid(socket)
        // MNL_CB_OK while messages continue, MNL_CB_STOP on the acknowledgement,
        // -1 with errno set from an NLMSG_ERROR reply.
        var status = Int32(MNL_CB_OK)
        while status == Int32(MNL_CB_OK) {
            let received = retryingOnInterrupt { mnl_socket_recvfrom(socket, buffer, bufferSize) }
            guard received >= 0 else { throw SystemCallError("mnl_socket_recvfrom", context: context) }
            status = mnl_cb_run(buffer, received, sequence, portID, nil, nil)
        }
        guard status != Int32(MNL_CB_ERROR) else { throw SystemCallError("rtnetlink", context: context) }
    }

    /// Appends a fixed-size family header (ifinfomsg, ifaddrmsg, rtmsg) zeroed,
    /// and returns it typed.
    static func putHeader<T>(_ header: UnsafeMutablePointer<nlmsghdr>, _ type: T.Type) -> UnsafeMutablePointer<T> {
        mnl_nlmsg_put_extra_header(header, MemoryLayout<T>.size)!.assumingMemoryBound(to: T.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CCap
import CMnl
import HelperRuntime
import IPCWire

/// Opens and configures NFLOG netlink sockets: used by `cellos-flowlog --group`
/// and by whoever creates a cell's socket inside its namespace (the socket stays
/// in the namespace of the thread that called `open`).
public enum NflogSocket {
    /// The netlink protocol NFLOG speaks.
    public static let netlinkNetfilter = NETLINK_NETFILTER

    /// Creates a NETLINK_NETFILTER socket, binds it to `configuration.group` in
    /// copy-packet mode with sequence numbers, and sizes its buffers. ENOBUFS is
    /// left on (NETLINK_NO_ENOBUFS off) so kernel drops are seen and counted.
    ///
    /// The obsolete per-family NFULNL_CFG_CMD_PF_UNBIND/PF_BIND commands are not
    /// sent: since Linux 3.17 they are no-ops and logging needs no per-family bind.
    public static func open(_ configuration: NflogSocketConfiguration) throws(NflogSocketError) -> OwnedFD {
        let fd: OwnedFD
        do { fd = try createSocket(receiveBufferBytes: configuration.receiveBufferBytes) } catch { throw .system(error) }
        try configure(fd, configuration)
        return fd
    }

    /// A bound NETLINK_NETFILTER socket with its buffer sized and ENOBUFS reporting on.
    static func createSocket(receiveBufferBytes: Int32) throws(SystemCallError) -> OwnedFD {
        let fd = OwnedFD(adopting: try systemCall("socket(AF_NETLINK, NETLINK_NETFILTER)") {
            socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), NETLINK_NETFILTER)
        })
        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        try systemCall("bind(AF_NETLINK)") {
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd.rawValue, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
            }
        }
        try sizeReceiveBuffer(fd, bytes: receiveBufferBytes)
        var off: Int32 = 0
        try systemCall("setsockopt(NETLINK_NO_ENOBUFS)") {
            setsockopt(fd.rawValue, SOL_NETLINK, NETLINK_NO_ENOBUFS, &off, socklen_t(MemoryLayout<Int32>.size))
        }
        return fd
    }

    public static func open(group: UInt16) throws(NflogSocketError) -> OwnedFD {
        try open(NflogSocketConfiguration(group: group))
    }

    /// SO_RCVBUFFORCE goes beyond net.core.rmem_max but needs CAP_NET_ADMIN;
    /// without it, SO_RCVBUF gives what rmem_max allows.
    static func sizeReceiveBuffer(_ fd: borrowing OwnedFD, bytes: Int32) throws(SystemCallError) {
        var size = bytes
        let length = socklen_t(MemoryLayout<Int32>.size)
        if setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVBUFFORCE, &size, length) == 0 { return }
        try systemCall("setsockopt(SO_RCVBUF)") { setsockopt(fd.rawValue, SOL_SOCKET, SO_RCVBUF, &size, length) }
    }

    /// The socket's receive buffer as the kernel reports it (twice what was set).
    public static func receiveBufferSize(_ fd: borrowing OwnedFD) throws(SystemCallError) -> Int32 {
        var size: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try systemCall("getsockopt(SO_RCVBUF)") { getsockopt(fd.rawValue, SOL_SOCKET, SO_RCVBUF, &size, &length) }
        return size
    }

    static func configure(_ fd: borrowing OwnedFD, _ configuration: NflogSocketConfiguration) throws(NflogSocketError) {
        typealias C = NflogProtocol.ConfigAttribute
        let group = configuration.group
        var sequence: UInt32 = 1
        let portID: UInt32
        do { portID = try localPortID(fd) } catch { throw .system(error) }
        func step(_ name: String, _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void) throws(NflogSocketError) {
            sequence += 1
            try request(fd, name: name, group: group, sequence: sequence, portID: portID, build)
        }
        try step("NFULNL_CFG_CMD_BIND") { mnl_attr_put($0, C.command, 1, [NflogProtocol.Command.bind]) }
        try step("NFULA_CFG_MODE copy-packet") { message in
            // struct nfulnl_msg_config_mode { __be32 copy_range; __u8 copy_mode; __u8 _pad; }
            var mode = (UInt32(configuration.copyRange).bigEndian, NflogProtocol.copyPacket, UInt8(0))
            withUnsafeBytes(of: &mode) { mnl_attr_put(message, C.mode, 6, $0.baseAddress) }
        }
        try step("NFULA_CFG_NLBUFSIZ") { mnl_attr_put_u32($0, C.bufferSize, configuration.kernelBatchBytes.bigEndian) }
        try step("NFULA_CFG_TIMEOUT") { mnl_attr_put_u32($0, C.timeout, configuration.flushTimeoutCentiseconds.bigEndian) }
        try step("NFULA_CFG_QTHRESH") { mnl_attr_put_u32($0, C.queueThreshold, configuration.queueThreshold.bigEndian) }
        try step("NFULA_CFG_FLAGS seq") { mnl_attr_put_u16($0, C.flags, NflogProtocol.sequenceFlags.bigEndian) }
    }

    /// Sends one NFULNL_MSG_CONFIG message asking for an ack and waits for it.
    /// Logged packets arriving meanwhile (another process's traffic after BIND)
    /// are discarded: configuration happens before the cell's workload runs.
    static func request(
        _ fd: borrowing OwnedFD, name: String, group: UInt16, sequence: UInt32, portID: UInt32,
        _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) throws(NflogSocketError) {
        try send(fd, name: name, group: group, sequence: sequence, build)
        try awaitAck(fd, name: name, group: group, sequence: sequence, portID: portID)
    }

    /// Ends the log of `group` on `fd` (netnsd's copy of a cell's NFLOG socket),
    /// once nothing in the cell can send any more (its workload and everything it
    /// forked are gone). NFULNL_CFG_CMD_UNBIND destroys the instance, and the
    /// kernel first flushes the partial batch it holds to the socket; the ack that
    /// follows it carries `NflogProtocol.endOfLogSequence`. The socket's reader
    /// (cellos-flowlog, which consumes the ack: nothing waits for it here) then
    /// knows its log is complete and need not wait out the flush timeout.
    public static func endLog(_ fd: borrowing OwnedFD, group: UInt16) throws(NflogSocketError) {
        try send(fd, name: "NFULNL_CFG_CMD_UNBIND", group: group, sequence: NflogProtocol.endOfLogSequence) {
            mnl_attr_put($0, NflogProtocol.ConfigAttribute.command, 1, [NflogProtocol.Command.unbind])
        }
    }

    /// Sends one NFULNL_MSG_CONFIG message for `group`, asking for an ack.
    static func send(
        _ fd: borrowing OwnedFD, name: String, group: UInt16, sequence: UInt32,
        _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) throws(NflogSocketError) {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            let message = mnl_nlmsg_put_header(raw.baseAddress)!
            message.pointee.nlmsg_type = NflogProtocol.configMessageType
            message.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK)
            message.pointee.nlmsg_seq = sequence
            let header = mnl_nlmsg_put_extra_header(message, NflogProtocol.nfgenmsgSize)!.assumingMemoryBound(to: UInt8.self)
            header[0] = UInt8(AF_UNSPEC)  // nfgen_family
            header[1] = 0                 // NFNETLINK_V0
            header[2] = UInt8(group >> 8) // res_id: the group, big-endian
            header[3] = UInt8(group & 0xFF)
            build(message)
            return Int(message.pointee.nlmsg_len)
        }
        do {
            try systemCall("send(\(name))") { buffer.withUnsafeBytes { Glibc.send(fd.rawValue, $0.baseAddress, length, 0) } }
        } catch { throw .system(error) }
    }

    /// Waits for the ack of `sequence`, discarding logged packets before it.
    static func awaitAck(_ fd: borrowing OwnedFD, name: String, group: UInt16, sequence: UInt32, portID: UInt32) throws(NflogSocketError) {
        var reply = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let received: Int
            do {
                received = try systemCall("recv(\(name) ack)") {
                    reply.withUnsafeMutableBytes { recv(fd.rawValue, $0.baseAddress, $0.count, 0) }
                }
            } catch {
                if error.errno == ENOBUFS { continue }  // our ack is still queued behind the overflow
                throw .system(error)
            }
            let status = reply.withUnsafeBytes { mnl_cb_run($0.baseAddress, received, sequence, portID, nil, nil) }
            if status == MNL_CB_STOP { return }
            if status == MNL_CB_ERROR {
                let code = errno
                switch code {
                case EPERM:
                    // nfnetlink_log answers EPERM both without CAP_NET_ADMIN and for a group
                    // another socket holds; with the capability only the latter is possible.
                    if (try? ProcessStatus.ofThisThread())?.hasEffective(Int(CAP_NET_ADMIN)) == true { throw .groupInUse(group) }
                    throw .permissionDenied(step: name, group: group)
                default: throw .rejected(step: name, group: group, errno: code)
                }
            }
            // MNL_CB_OK: packets or another message, not our ack yet.
        }
    }

    static func localPortID(_ fd: borrowing OwnedFD) throws(SystemCallError) -> UInt32 {
        var address = sockaddr_nl()
        var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        try systemCall("getsockname(AF_NETLINK)") {
            withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd.rawValue, $0, &length) }
            }
        }
        return address.nl_pid
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// One end of a connected `AF_UNIX` `SOCK_SEQPACKET` socket: one frame per datagram,
/// descriptors in the same `sendmsg` as the frame they belong to.
public struct SeqpacketConnection: ~Copyable {
    public let socket: OwnedFD

    public init(adopting socket: consuming OwnedFD) { self.socket = socket }

    /// Sends a frame. Its descriptors stay owned by the frame (the kernel dups them
    /// into the message), so the caller decides when they close.
    public func send(_ frame: borrowing Frame) throws(WireError) {
        let bytes = frame.bytes
        guard bytes.count <= FrameHeader.maxFrameSize else { throw .frameTooLarge(limit: FrameHeader.maxFrameSize) }
        let sent = frame.descriptors.withRawDescriptors { fds in
            bytes.withUnsafeBytes { raw in
                fds.withUnsafeBufferPointer { fdBuffer in
                    cellos_send_with_fds(socket.rawValue, raw.baseAddress, raw.count, fdBuffer.baseAddress, fdBuffer.count)
                }
            }
        }
        if sent < 0 {
            if errno == EPIPE || errno == ECONNRESET { throw .peerClosed }
            throw .system(SystemCallError("sendmsg"))
        }
    }

    /// Encodes and sends `message`; the descriptors close once sent.
    public func send<M: WireMessage>(
        _ message: M, requestID: UInt32, flags: FrameHeader.Flags = [], descriptors: consuming DescriptorSet = DescriptorSet()
    ) throws(WireError) {
        try send(Frame(message, requestID: requestID, flags: flags, descriptors: descriptors))
    }

    /// Receives the next frame, checking the datagram and its control data. Every
    /// descriptor that arrived is either in the returned frame or closed.
    /// `dontWait` makes it `MSG_DONTWAIT` (then `EAGAIN` surfaces as a system error).
    public func receive(dontWait: Bool = false) throws(WireError) -> Frame {
        var buffer = [UInt8](repeating: 0, count: FrameHeader.maxFrameSize)
        var fds = [Int32](repeating: -1, count: FrameHeader.maxDescriptors)
        var info = cellos_recv_info()
        let count = buffer.withUnsafeMutableBytes { raw in
            fds.withUnsafeMutableBufferPointer { fdBuffer in
                cellos_recv_with_fds(
                    socket.rawValue, raw.baseAddress, raw.count, dontWait ? Int32(MSG_DONTWAIT) : 0,
                    fdBuffer.baseAddress, fdBuffer.count, &info)
            }
        }
        if count < 0 {
            if errno == ECONNRESET { throw .peerClosed }
            throw .system(SystemCallError("recvmsg"))
        }
        // Owned from here on: any throw below closes them.
        let received = DescriptorSet(adopting: Array(fds[0..<info.nfds]))
        let receivedCount = info.nfds + info.surplus_closed
        if count == 0 && receivedCount == 0 { throw .peerClosed }
        if info.msg_flags & Int32(MSG_CTRUNC) != 0 { throw .controlMessageTruncated }
        if info.bad_cmsgs > 0 { throw .unexpectedControlMessage }
        if info.msg_flags & Int32(MSG_TRUNC) != 0 { throw .frameTooLarge(limit: FrameHeader.maxFrameSize) }
        if info.surplus_closed > 0 {
            throw .tooManyDescriptors(declared: receivedCount, limit: FrameHeader.maxDescriptors)
        }
        return try Frame.decode(buffer[0..<count], received: received)
    }

    /// Receives the next frame and decodes it as `M`.
    public func receive<M: WireMessage>(_ type: M.Type) throws(WireError) -> Received<M> {
        try receive().decode(as: type)
    }

    /// The peer's pid, uid and gid as the kernel recorded them at connect time.
    public func peerCredentials() throws(SystemCallError) -> PeerCredentials {
        try PeerCredentials(of: socket)
    }

    /// Stops further sends (the peer's `receive` then reports `peerClosed`).
    public func shutdownWrite() {
        _ = Glibc.shutdown(socket.rawValue, Int32(SHUT_WR))
    }
}

/// Two connected ends from `socketpair(2)`.
public struct ConnectionPair: ~Copyable {
    public let first: SeqpacketConnection
    public let second: SeqpacketConnection

    public init() throws(SystemCallError) {
        var fds: [Int32] = [-1, -1]
        try systemCall("socketpair(AF_UNIX, SOCK_SEQPACKET)") {
            socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
        }
        first = SeqpacketConnection(adopting: OwnedFD(adopting: fds[0]))
        second = SeqpacketConnection(adopting: OwnedFD(adopting: fds[1]))
    }
}

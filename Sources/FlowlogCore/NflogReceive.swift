#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// What one non-blocking `recv` on an NFLOG socket produced.
public enum NflogReceiveResult: Equatable, Sendable {
    /// A datagram of this many bytes is in the buffer.
    case datagram(Int)
    /// A datagram larger than the buffer (its tail was lost).
    case truncated(Int)
    /// ENOBUFS: the kernel dropped log messages because the socket buffer was full.
    case kernelDropped
    /// Nothing queued.
    case empty
}

extension NflogSocket {
    /// Receives one datagram without blocking (`MSG_DONTWAIT | MSG_TRUNC`).
    public static func receive(
        _ fd: borrowing OwnedFD, into buffer: UnsafeMutableRawBufferPointer
    ) throws(SystemCallError) -> NflogReceiveResult {
        let count = retryingOnInterrupt {
            recv(fd.rawValue, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC))
        }
        if count >= 0 { return count > buffer.count ? .truncated(count) : .datagram(count) }
        switch errno {
        case ENOBUFS: return .kernelDropped
        case EAGAIN, EWOULDBLOCK: return .empty
        default: throw SystemCallError("recv(NFLOG)")
        }
    }
}

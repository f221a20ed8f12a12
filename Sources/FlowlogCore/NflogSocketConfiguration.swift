#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// How an NFLOG socket is set up. The defaults favour not losing a burst: a large
/// socket buffer, whole packets copied, and a short kernel flush timeout so events
/// arrive promptly while bursts are still batched (many messages per `recv`).
public struct NflogSocketConfiguration: Sendable, Equatable {
    /// The nft `log group` to bind.
    public var group: UInt16
    /// SO_RCVBUF(FORCE) in bytes.
    public var receiveBufferBytes: Int32 = 8 << 20
    /// NFULA_CFG_MODE copy range: bytes of each packet to copy (0xFFFF: all).
    public var copyRange: UInt32 = 0xFFFF
    /// NFULA_CFG_NLBUFSIZ: the kernel's batch buffer per flush.
    public var kernelBatchBytes: UInt32 = 64 << 10
    /// NFULA_CFG_TIMEOUT in 1/100 s: how long the kernel may hold a partial batch.
    public var flushTimeoutCentiseconds: UInt32 = NflogSocketConfiguration.defaultFlushTimeoutCentiseconds
    /// NFULA_CFG_QTHRESH: messages per batch before the kernel flushes.
    public var queueThreshold: UInt32 = 64

    public init(group: UInt16) { self.group = group }

    public static let defaultFlushTimeoutCentiseconds: UInt32 = 1

    /// How long a listener keeps reading after it was told to stop: a partial
    /// batch may sit in the kernel for up to the flush timeout, and a packet logged
    /// just before the stop must still become an event. 5 ms covers the timer's
    /// jiffy rounding.
    public static var finalDrainMilliseconds: Int { Int(defaultFlushTimeoutCentiseconds) * 10 + 5 }
}

public enum NflogSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kernel refused a configuration step with EPERM: binding an NFLOG group
    /// needs CAP_NET_ADMIN in the network namespace the socket was created in.
    case permissionDenied(step: String, group: UInt16)
    /// Another socket already has the group (the kernel says EPERM; told apart
    /// from a missing capability by checking CAP_NET_ADMIN).
    case groupInUse(UInt16)
    /// The kernel answered a configuration step with another error.
    case rejected(step: String, group: UInt16, errno: Int32)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .permissionDenied(let step, let group):
            "NFLOG group \(group): \(step) was refused (EPERM): binding an NFLOG group needs CAP_NET_ADMIN in the socket's network namespace"
        case .groupInUse(let group):
            "NFLOG group \(group) is already bound by another socket"
        case .rejected(let step, let group, let errno):
            "NFLOG group \(group): \(step) failed: \(String(cString: strerror(errno))) [errno \(errno)]"
        case .system(let error): error.description
        }
    }
}

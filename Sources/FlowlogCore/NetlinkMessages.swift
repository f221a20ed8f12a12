/// One netlink message inside a received datagram. `payload` points into the
/// datagram and is only valid while the datagram's buffer is.
public struct NetlinkMessage {
    /// nlmsghdr: 16 bytes, host byte order.
    public static let headerSize = 16

    public let type: UInt16
    public let flags: UInt16
    public let sequence: UInt32
    public let portID: UInt32
    public let payload: UnsafeRawBufferPointer
}

/// Message types every netlink family shares (`linux/netlink.h`).
public enum NetlinkMessageType {
    public static let noop: UInt16 = 1
    public static let error: UInt16 = 2
    public static let done: UInt16 = 3
    public static let overrun: UInt16 = 4
}

/// A datagram whose message framing cannot be trusted past `offset`.
public enum NetlinkFramingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than an nlmsghdr left at `offset`.
    case truncatedHeader(offset: Int, remaining: Int)
    /// `nlmsg_len` smaller than the header or larger than what is left.
    case badLength(offset: Int, length: Int, remaining: Int)

    public var description: String {
        switch self {
        case .truncatedHeader(let offset, let remaining):
            "netlink header at offset \(offset) truncated: \(remaining) bytes left, need \(NetlinkMessage.headerSize)"
        case .badLength(let offset, let length, let remaining):
            "netlink message at offset \(offset) has nlmsg_len \(length) with \(remaining) bytes left"
        }
    }
}

/// Walks the messages of one datagram in order (a `recv` on a netlink socket can
/// return several). Each step yields a message or, once, the framing error that
/// ends the walk: a bad `nlmsg_len` leaves no trustworthy position for the next
/// message, so nothing after it is read.
public struct NetlinkMessageWalker: IteratorProtocol {
    private let datagram: UnsafeRawBufferPointer
    private var offset = 0
    private var finished = false

    public init(_ datagram: UnsafeRawBufferPointer) { self.datagram = datagram }

    public mutating func next() -> Result<NetlinkMessage, NetlinkFramingError>? {
        guard !finished, offset < datagram.count else { return nil }
        let remaining = datagram.count - offset
        guard remaining >= NetlinkMessage.headerSize,
              let length = datagram.hostUInt32(at: offset),
              let type = datagram.hostUInt16(at: offset + 4),
              let flags = datagram.hostUInt16(at: offset + 6),
              let sequence = datagram.hostUInt32(at: offset + 8),
              let portID = datagram.hostUInt32(at: offset + 12)
        else {
            finished = true
            return .failure(.truncatedHeader(offset: offset, remaining: remaining))
        }
        let messageLength = Int(length)
        guard messageLength >= NetlinkMessage.headerSize, messageLength <= remaining,
              let payload = datagram.slice((offset + NetlinkMessage.headerSize)..<(offset + messageLength))
        else {
            finished = true
            return .failure(.badLength(offset: offset, length: messageLength, remaining: remaining))
        }
        // The last message may omit its alignment padding.
        offset += min(netlinkAligned(messageLength), remaining)
        return .success(NetlinkMessage(type: type, flags: flags, sequence: sequence, portID: portID, payload: payload))
    }
}

extension NetlinkMessage {
    /// For an NLMSG_ERROR message: the (negative) errno it carries, 0 for an ack,
    /// or nil when the payload is too short to hold one.
    public var errorCode: Int32? {
        guard type == NetlinkMessageType.error, let raw = payload.hostUInt32(at: 0) else { return nil }
        return Int32(bitPattern: raw)
    }
}

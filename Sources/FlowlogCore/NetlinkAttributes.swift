/// One netlink attribute (nlattr): its type with the NLA_F_NESTED and
/// NLA_F_NET_BYTEORDER bits removed, and its value (without padding).
public struct NetlinkAttribute {
    public static let headerSize = 4
    /// NLA_TYPE_MASK: the two high bits are flags, not part of the type.
    public static let typeMask: UInt16 = 0x3FFF

    public let type: UInt16
    public let value: UnsafeRawBufferPointer
}

public enum NetlinkAttributeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer than 4 bytes where an attribute header should be.
    case truncatedHeader(offset: Int, remaining: Int)
    /// `nla_len` below 4 or beyond the enclosing message.
    case badLength(offset: Int, length: Int, remaining: Int)

    public var description: String {
        switch self {
        case .truncatedHeader(let offset, let remaining):
            "attribute header at offset \(offset) truncated: \(remaining) bytes left"
        case .badLength(let offset, let length, let remaining):
            "attribute at offset \(offset) has nla_len \(length) with \(remaining) bytes left"
        }
    }
}

/// Calls `body` for each attribute in `bytes`, checking every `nla_len` against
/// what is left before reading the value.
func forEachNetlinkAttribute(
    in bytes: UnsafeRawBufferPointer, _ body: (NetlinkAttribute) throws(NflogDecodeError) -> Void
) throws(NflogDecodeError) {
    var offset = 0
    while offset < bytes.count {
        let remaining = bytes.count - offset
        guard remaining >= NetlinkAttribute.headerSize,
              let length = bytes.hostUInt16(at: offset), let rawType = bytes.hostUInt16(at: offset + 2)
        else { throw .attribute(.truncatedHeader(offset: offset, remaining: remaining)) }
        let attributeLength = Int(length)
        guard attributeLength >= NetlinkAttribute.headerSize, attributeLength <= remaining,
              let value = bytes.slice((offset + NetlinkAttribute.headerSize)..<(offset + attributeLength))
        else { throw .attribute(.badLength(offset: offset, length: attributeLength, remaining: remaining)) }
        try body(NetlinkAttribute(type: rawType & NetlinkAttribute.typeMask, value: value))
        offset += min(netlinkAligned(attributeLength), remaining)
    }
}

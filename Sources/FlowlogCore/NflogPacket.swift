/// One NFULNL_MSG_PACKET message, decoded. `payload` points into the received
/// datagram and is only valid while that buffer is.
public struct NflogPacket {
    public var family: UInt8 = 0
    public var group: UInt16 = 0
    /// NFULA_PACKET_HDR: the link-layer protocol (ETH_P_*) and the hook.
    public var hardwareProtocol: UInt16?
    public var hook: UInt8?
    /// NFULA_PREFIX without its NUL terminator.
    public var prefix: UnsafeRawBufferPointer?
    /// NFULA_TIMESTAMP (absent for most locally generated packets).
    public var timestamp: WallTime?
    public var inputInterface: UInt32?
    public var outputInterface: UInt32?
    public var mark: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var sequence: UInt32?
    public var globalSequence: UInt32?
    public var payload: UnsafeRawBufferPointer?
}

/// Seconds and microseconds since the epoch.
public struct WallTime: Equatable, Sendable {
    public var seconds: Int64
    public var microseconds: Int32

    public init(seconds: Int64, microseconds: Int32) {
        self.seconds = seconds
        self.microseconds = microseconds
    }
}

public enum NflogDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case framing(NetlinkFramingError)
    case attribute(NetlinkAttributeError)
    case truncatedNfgenmsg(length: Int)
    /// A known attribute whose value has the wrong size for its type.
    case badAttributeSize(type: UInt16, size: Int)
    /// A known attribute that appeared twice in one message.
    case duplicateAttribute(type: UInt16)
    /// A prefix without its NUL terminator.
    case unterminatedPrefix

    public var description: String {
        switch self {
        case .framing(let error): error.description
        case .attribute(let error): error.description
        case .truncatedNfgenmsg(let length): "NFLOG message payload of \(length) bytes cannot hold nfgenmsg"
        case .badAttributeSize(let type, let size): "NFLOG attribute \(type) has \(size) bytes"
        case .duplicateAttribute(let type): "NFLOG attribute \(type) appears twice"
        case .unterminatedPrefix: "NFULA_PREFIX is not NUL-terminated"
        }
    }
}

extension NflogPacket {
    /// Decodes the payload of an NFULNL_MSG_PACKET message (nfgenmsg, then
    /// attributes). Unknown attributes are skipped; known ones must have their
    /// exact size and appear at most once.
    public static func decode(_ message: UnsafeRawBufferPointer) throws(NflogDecodeError) -> NflogPacket {
        guard message.count >= NflogProtocol.nfgenmsgSize,
              let family = message.byte(at: 0), let group = message.bigEndianUInt16(at: 2),
              let attributes = message.slice(NflogProtocol.nfgenmsgSize..<message.count)
        else { throw .truncatedNfgenmsg(length: message.count) }
        var packet = NflogPacket(family: family, group: group)
        var seen: UInt32 = 0
        try forEachNetlinkAttribute(in: attributes) { (attribute) throws(NflogDecodeError) in
            let type = attribute.type
            let value = attribute.value
            guard type <= NflogProtocol.Attribute.gid else { return }  // unknown or not used: skip
            let bit: UInt32 = 1 << UInt32(type)
            guard seen & bit == 0 else { throw .duplicateAttribute(type: type) }
            seen |= bit
            typealias A = NflogProtocol.Attribute
            switch type {
            case A.packetHeader:
                guard value.count == 4 else { throw .badAttributeSize(type: type, size: value.count) }
                packet.hardwareProtocol = value.bigEndianUInt16(at: 0)
                packet.hook = value.byte(at: 2)
            case A.timestamp:
                guard value.count == 16, let seconds = value.bigEndianUInt64(at: 0), let micros = value.bigEndianUInt64(at: 8)
                else { throw .badAttributeSize(type: type, size: value.count) }
                packet.timestamp = WallTime(seconds: Int64(truncatingIfNeeded: seconds), microseconds: Int32(truncatingIfNeeded: micros % 1_000_000))
            case A.prefix:
                guard let terminator = value.firstIndex(of: 0) else { throw .unterminatedPrefix }
                packet.prefix = value.slice(0..<terminator)
            case A.payload:
                packet.payload = value
            case A.inputInterface, A.outputInterface, A.mark, A.uid, A.gid, A.sequence, A.globalSequence:
                guard value.count == 4, let number = value.bigEndianUInt32(at: 0)
                else { throw .badAttributeSize(type: type, size: value.count) }
                switch type {
                case A.inputInterface: packet.inputInterface = number
                case A.outputInterface: packet.outputInterface = number
                case A.mark: packet.mark = number
                case A.uid: packet.uid = number
                case A.gid: packet.gid = number
                case A.sequence: packet.sequence = number
                default: packet.globalSequence = number
                }
            default:
                return  // physdev, hwaddr: present but not used
            }
        }
        return packet
    }
}

/// The fixed 20-byte header that starts every IPCWire frame. All integers are
/// little-endian (both ends are on one host; fixing the order keeps the format
/// independent of it anyway).
///
/// | offset | size | field          | rule                                               |
/// |-------:|-----:|----------------|----------------------------------------------------|
/// |      0 |    4 | magic          | `0x434C5731` ("1WLC" on the wire, "CLW1" as text)  |
/// |      4 |    2 | version        | `1`; anything else is refused                     |
/// |      6 |    2 | message type   | one of `MessageType`                              |
/// |      8 |    2 | flags          | bit 0 = response; other bits must be 0            |
/// |     10 |    2 | fd count       | ≤ `maxDescriptors`; must equal the fds received  |
/// |     12 |    4 | request id     | echoed by the response                            |
/// |     16 |    4 | payload length | header + payload ≤ `maxFrameSize`; must match     |
public struct FrameHeader: Equatable, Sendable {
    public static let magic: UInt32 = 0x434C_5731
    public static let currentVersion: UInt16 = 1
    public static let size = 20
    /// One frame is one SOCK_SEQPACKET datagram. 64 KiB is far above any control
    /// message the suite sends (the largest is a spawn request with argv and env)
    /// and well under the default socket send buffer, so a send never blocks on size.
    public static let maxFrameSize = 64 * 1024
    public static let maxPayloadSize = maxFrameSize - size
    /// The largest request passes 4 cell fds or 3 stdio fds; 16 leaves room without
    /// letting a peer pin many descriptors in the receiver per message.
    public static let maxDescriptors = 16

    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let response = Flags(rawValue: 1 << 0)
        public static let known: Flags = [.response]
    }

    public var version: UInt16
    public var messageType: UInt16
    public var flags: Flags
    public var descriptorCount: UInt16
    public var requestID: UInt32
    public var payloadLength: UInt32

    public init(messageType: UInt16, flags: Flags = [], descriptorCount: Int, requestID: UInt32, payloadLength: Int) {
        self.version = Self.currentVersion
        self.messageType = messageType
        self.flags = flags
        self.descriptorCount = UInt16(descriptorCount)
        self.requestID = requestID
        self.payloadLength = UInt32(payloadLength)
    }

    public func encode(into bytes: inout [UInt8]) {
        var writer = WireWriter()
        writer.write(Self.magic)
        writer.write(version)
        writer.write(messageType)
        writer.write(flags.rawValue)
        writer.write(descriptorCount)
        writer.write(requestID)
        writer.write(payloadLength)
        bytes.append(contentsOf: writer.bytes)
    }

    /// Parses and checks the header of a whole datagram of `frameLength` bytes.
    /// Checks run in the order that names the most specific fault: a frame from
    /// something that is not IPCWire fails on magic before anything else.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(WireError) -> FrameHeader {
        guard bytes.count >= size else { throw .frameTooShort(length: bytes.count) }
        guard bytes.count <= maxFrameSize else { throw .frameTooLarge(limit: maxFrameSize) }
        var reader = WireReader(bytes.prefix(size))
        let magic: UInt32 = try reader.read("magic")
        guard magic == Self.magic else { throw .badMagic(magic) }
        let version: UInt16 = try reader.read("version")
        guard version == currentVersion else { throw .unsupportedVersion(version) }
        let type: UInt16 = try reader.read("message type")
        let rawFlags: UInt16 = try reader.read("flags")
        guard rawFlags & ~Flags.known.rawValue == 0 else { throw .unknownFlags(rawFlags) }
        let fdCount: UInt16 = try reader.read("fd count")
        guard fdCount <= maxDescriptors else { throw .tooManyDescriptors(declared: Int(fdCount), limit: maxDescriptors) }
        let requestID: UInt32 = try reader.read("request id")
        let payloadLength: UInt32 = try reader.read("payload length")
        guard Int(payloadLength) == bytes.count - size else {
            throw .payloadLengthMismatch(declared: payloadLength, actual: bytes.count - size)
        }
        var header = FrameHeader(
            messageType: type, flags: Flags(rawValue: rawFlags), descriptorCount: Int(fdCount),
            requestID: requestID, payloadLength: Int(payloadLength))
        header.version = version
        return header
    }
}

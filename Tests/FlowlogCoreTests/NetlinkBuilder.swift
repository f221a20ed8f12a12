// Hand-built netlink and IP bytes, laid out as the kernel does (host-order
// netlink headers, big-endian NFLOG attribute values and IP headers).
@testable import FlowlogCore

enum Bytes {
    static func host16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    static func host32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { be16(UInt16(value >> 16)) + be16(UInt16(value & 0xFFFF)) }
    static func be64(_ value: UInt64) -> [UInt8] { be32(UInt32(value >> 32)) + be32(UInt32(value & 0xFFFF_FFFF)) }
    static func padded(_ bytes: [UInt8]) -> [UInt8] { bytes + Array(repeating: 0, count: (4 - bytes.count % 4) % 4) }
}

enum Netlink {
    /// nlmsghdr + payload, padded to 4 bytes.
    static func message(type: UInt16, flags: UInt16 = 0, sequence: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        Bytes.padded(Bytes.host32(UInt32(16 + payload.count)) + Bytes.host16(type) + Bytes.host16(flags)
            + Bytes.host32(sequence) + Bytes.host32(0) + payload)
    }

    static func attribute(_ type: UInt16, _ value: [UInt8]) -> [UInt8] {
        Bytes.padded(Bytes.host16(UInt16(4 + value.count)) + Bytes.host16(type) + value)
    }

    static func error(_ code: Int32, sequence: UInt32 = 0) -> [UInt8] {
        message(type: NetlinkMessageType.error, sequence: sequence, payload: Bytes.host32(UInt32(bitPattern: code)) + Array(repeating: 0, count: 16))
    }

    /// An NFULNL_MSG_PACKET message: nfgenmsg then the given attributes.
    static func nflog(family: UInt8 = 2, group: UInt16 = 7, attributes: [[UInt8]]) -> [UInt8] {
        message(type: NflogProtocol.packetMessageType, payload: [family, 0] + Bytes.be16(group) + attributes.flatMap { $0 })
    }

    typealias A = NflogProtocol.Attribute

    /// The attributes the kernel sends for a logged output packet.
    static func loggedPacket(prefix: String?, payload: [UInt8], hook: UInt8 = 3, uid: UInt32? = 1000) -> [UInt8] {
        var attributes = [attribute(A.packetHeader, Bytes.be16(0x0800) + [hook, 0])]
        if let prefix { attributes.append(attribute(A.prefix, Array(prefix.utf8) + [0])) }
        attributes.append(attribute(A.outputInterface, Bytes.be32(2)))
        if let uid {
            attributes.append(attribute(A.uid, Bytes.be32(uid)))
            attributes.append(attribute(A.gid, Bytes.be32(uid)))
        }
        attributes.append(attribute(A.sequence, Bytes.be32(41)))
        attributes.append(attribute(A.payload, payload))
        return nflog(attributes: attributes)
    }
}

enum IPPacket {
    static func ipv4(source: [UInt8], destination: [UInt8], proto: UInt8, options: [UInt8] = [], fragmentOffset: UInt16 = 0, transport: [UInt8]) -> [UInt8] {
        precondition(options.count % 4 == 0)
        let headerLength = 20 + options.count
        let total = headerLength + transport.count
        return [0x40 | UInt8(headerLength / 4), 0] + Bytes.be16(UInt16(total)) + [0, 1] + Bytes.be16(fragmentOffset)
            + [64, proto, 0, 0] + source + destination + options + transport
    }

    static func ipv6(source: [UInt8], destination: [UInt8], next: UInt8, extensions: [UInt8] = [], transport: [UInt8]) -> [UInt8] {
        precondition(source.count == 16 && destination.count == 16)
        return [0x60, 0, 0, 0] + Bytes.be16(UInt16(extensions.count + transport.count)) + [next, 64] + source + destination + extensions + transport
    }

    static func udp(source: UInt16, destination: UInt16, data: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
        Bytes.be16(source) + Bytes.be16(destination) + Bytes.be16(UInt16(8 + data.count)) + [0, 0] + data
    }

    static func tcp(source: UInt16, destination: UInt16, flags: UInt8) -> [UInt8] {
        Bytes.be16(source) + Bytes.be16(destination) + Bytes.be32(1) + Bytes.be32(0) + [0x50, flags] + Bytes.be16(65535) + [0, 0, 0, 0]
    }

    static func icmp(type: UInt8, code: UInt8) -> [UInt8] { [type, code, 0, 0, 0, 1, 0, 1] }

    static let v6a: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
    static let v6b: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [2]
}

func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes(body)
}

struct NoMessage: Error {}

/// The first message of a datagram (the test fails if there is none or it is malformed).
func firstMessage(_ raw: UnsafeRawBufferPointer) throws -> NetlinkMessage {
    var walker = NetlinkMessageWalker(raw)
    guard let next = walker.next() else { throw NoMessage() }
    return try next.get()
}

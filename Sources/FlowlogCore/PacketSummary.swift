#if canImport(IPCWire)  // the nflog fuzz targets compile IPCWire's IPAddress.swift with this file
import IPCWire
#endif
/// What a flow event needs from a logged IP packet: addresses, transport
/// protocol, ports or ICMP type/code, TCP flags, and the IP datagram's length.
public struct PacketSummary: Equatable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    /// IP protocol number of the transport header (after IPv6 extension headers).
    public var ipProtocol: UInt8
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var icmpType: UInt8?
    public var icmpCode: UInt8?
    public var tcpFlags: UInt8?
    /// Length of the whole IP datagram from its header (the copy may be shorter).
    public var length: Int
    /// A non-first fragment: its transport header is elsewhere, so no ports.
    public var isLaterFragment = false

    public var protocolName: String { IPProtocolNumber.name(ipProtocol) }
}

public enum IPProtocolNumber {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58

    public static func name(_ number: UInt8) -> String {
        switch number {
        case icmp: "icmp"
        case tcp: "tcp"
        case udp: "udp"
        case icmpv6: "icmpv6"
        default: String(number)
        }
    }
}

public enum PacketDecodeError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unknownVersion(UInt8)
    case truncated(layer: String, have: Int, need: Int)
    case badHeaderLength(layer: String, value: Int)
    case tooManyExtensionHeaders

    public var description: String {
        switch self {
        case .empty: "empty packet payload"
        case .unknownVersion(let version): "IP version \(version) is neither 4 nor 6"
        case .truncated(let layer, let have, let need): "\(layer) header truncated: \(have) bytes, need \(need)"
        case .badHeaderLength(let layer, let value): "\(layer) header length \(value) is invalid"
        case .tooManyExtensionHeaders: "more IPv6 extension headers than the limit"
        }
    }
}

extension PacketSummary {
    /// IPv6 headers skipped before the transport header, at most this many.
    static let maxExtensionHeaders = 8

    /// Parses an IPv4 or IPv6 packet (as NFLOG copies it, network header first).
    public static func parse(_ packet: UnsafeRawBufferPointer) throws(PacketDecodeError) -> PacketSummary {
        guard let first = packet.byte(at: 0) else { throw .empty }
        switch first >> 4 {
        case 4: return try parseIPv4(packet)
        case 6: return try parseIPv6(packet)
        default: throw .unknownVersion(first >> 4)
        }
    }

    static func parseIPv4(_ packet: UnsafeRawBufferPointer) throws(PacketDecodeError) -> PacketSummary {
        guard packet.count >= 20, let versionIHL = packet.byte(at: 0), let totalLength = packet.bigEndianUInt16(at: 2),
              let fragment = packet.bigEndianUInt16(at: 6), let proto = packet.byte(at: 9),
              let source = packet.bigEndianUInt32(at: 12), let destination = packet.bigEndianUInt32(at: 16)
        else { throw .truncated(layer: "IPv4", have: packet.count, need: 20) }
        let headerLength = Int(versionIHL & 0x0F) * 4
        guard headerLength >= 20 else { throw .badHeaderLength(layer: "IPv4", value: headerLength) }
        guard headerLength <= packet.count else { throw .truncated(layer: "IPv4", have: packet.count, need: headerLength) }
        guard Int(totalLength) >= headerLength else { throw .badHeaderLength(layer: "IPv4 total", value: Int(totalLength)) }
        var summary = PacketSummary(source: .v4(source), destination: .v4(destination), ipProtocol: proto, length: Int(totalLength))
        if fragment & 0x1FFF != 0 {
            summary.isLaterFragment = true
            return summary
        }
        // Transport bytes: what was copied, but never beyond the datagram's own length.
        let end = min(packet.count, Int(totalLength))
        try summary.parseTransport(packet.slice(headerLength..<end)!)
        return summary
    }

    static func parseIPv6(_ packet: UnsafeRawBufferPointer) throws(PacketDecodeError) -> PacketSummary {
        guard packet.count >= 40, let payloadLength = packet.bigEndianUInt16(at: 4), var next = packet.byte(at: 6),
              let sourceHigh = packet.bigEndianUInt64(at: 8), let sourceLow = packet.bigEndianUInt64(at: 16),
              let destinationHigh = packet.bigEndianUInt64(at: 24), let destinationLow = packet.bigEndianUInt64(at: 32)
        else { throw .truncated(layer: "IPv6", have: packet.count, need: 40) }
        var summary = PacketSummary(
            source: .v6(sourceHigh, sourceLow), destination: .v6(destinationHigh, destinationLow),
            ipProtocol: next, length: 40 + Int(payloadLength))
        let end = min(packet.count, summary.length)
        var offset = 40
        var skipped = 0
        while true {
            let headerLength: Int
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options: (len + 1) * 8
                guard let following = packet.byte(at: offset), let units = packet.byte(at: offset + 1), offset + 2 <= end
                else { throw .truncated(layer: "IPv6 extension", have: end - offset, need: 2) }
                headerLength = (Int(units) + 1) * 8
                guard offset + headerLength <= end else { throw .truncated(layer: "IPv6 extension", have: end - offset, need: headerLength) }
                next = following
            case 44:  // fragment: fixed 8 bytes
                guard offset + 8 <= end, let following = packet.byte(at: offset), let fragment = packet.bigEndianUInt16(at: offset + 2)
                else { throw .truncated(layer: "IPv6 fragment", have: end - offset, need: 8) }
                headerLength = 8
                next = following
                if fragment & 0xFFF8 != 0 {
                    summary.ipProtocol = next
                    summary.isLaterFragment = true
                    return summary
                }
            case 51:  // authentication header: (len + 2) * 4
                guard let following = packet.byte(at: offset), let units = packet.byte(at: offset + 1), offset + 2 <= end
                else { throw .truncated(layer: "IPv6 AH", have: end - offset, need: 2) }
                headerLength = (Int(units) + 2) * 4
                guard offset + headerLength <= end else { throw .truncated(layer: "IPv6 AH", have: end - offset, need: headerLength) }
                next = following
            default:
                summary.ipProtocol = next
                try summary.parseTransport(packet.slice(offset..<max(offset, end))!)
                return summary
            }
            offset += headerLength
            skipped += 1
            guard skipped <= maxExtensionHeaders else { throw .tooManyExtensionHeaders }
        }
    }

    mutating func parseTransport(_ transport: UnsafeRawBufferPointer) throws(PacketDecodeError) {
        switch ipProtocol {
        case IPProtocolNumber.tcp:
            guard transport.count >= 20, let flags = transport.byte(at: 13), let offsetByte = transport.byte(at: 12)
            else { throw .truncated(layer: "TCP", have: transport.count, need: 20) }
            guard Int(offsetByte >> 4) * 4 >= 20 else { throw .badHeaderLength(layer: "TCP", value: Int(offsetByte >> 4) * 4) }
            sourcePort = transport.bigEndianUInt16(at: 0)
            destinationPort = transport.bigEndianUInt16(at: 2)
            tcpFlags = flags
        case IPProtocolNumber.udp:
            guard transport.count >= 8 else { throw .truncated(layer: "UDP", have: transport.count, need: 8) }
            sourcePort = transport.bigEndianUInt16(at: 0)
            destinationPort = transport.bigEndianUInt16(at: 2)
        case IPProtocolNumber.icmp, IPProtocolNumber.icmpv6:
            guard transport.count >= 4 else { throw .truncated(layer: "ICMP", have: transport.count, need: 4) }
            icmpType = transport.byte(at: 0)
            icmpCode = transport.byte(at: 1)
        default:
            break  // another protocol: addresses and number only
        }
    }
}

/// TCP flags as letters: S F R P A U E C (SYN, FIN, RST, PSH, ACK, URG, ECE, CWR).
public enum TCPFlags {
    public static func text(_ flags: UInt8) -> String {
        let letters: [(UInt8, Character)] = [(0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x10, "A"), (0x20, "U"), (0x40, "E"), (0x80, "C")]
        return String(letters.compactMap { flags & $0.0 != 0 ? $0.1 : nil })
    }
}

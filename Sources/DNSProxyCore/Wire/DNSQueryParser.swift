// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// Where the parts of a well-formed query sit in the datagram. The parser copies
/// nothing: the query bytes stay in the caller's receive buffer.
public struct DNSQuery: Equatable, Sendable {
    public let id: UInt16
    public let flags: UInt16
    /// Wire length of the question name, the root label's zero byte included.
    public let nameLength: Int
    public let qtype: UInt16
    public let qclass: UInt16

    /// The name starts right after the header.
    public static let nameOffset = DNSHeader.length
    /// Name, type and class: what an answer must echo.
    public var questionRange: Range<Int> { DNSHeader.length ..< questionEnd }
    public var questionEnd: Int { DNSHeader.length + nameLength + 4 }
    public var recursionDesired: Bool { flags & DNSHeader.flagRD != 0 }
}

/// Why a datagram is not a query the proxy will look at (event reason
/// `malformed_query`; the detail names the rule it broke).
public enum MalformedQuery: Error, Equatable, Sendable, CustomStringConvertible {
    case shorterThanHeader(Int)
    case notAQuery
    case opcodeNotQuery(UInt16)
    case questionCount(UInt16)
    case compressionPointer
    case labelTooLong(Int)
    case nameTooLong
    case truncatedQuestion
    case classNotIN(UInt16)
    /// Set by the UDP receive path, not the parser: a datagram larger than any query.
    case tooLarge

    /// A stable snake_case word for events.
    public var detail: String {
        switch self {
        case .shorterThanHeader: "shorter_than_header"
        case .notAQuery: "qr_set"
        case .opcodeNotQuery: "opcode_not_query"
        case .questionCount: "qdcount_not_one"
        case .compressionPointer: "compression_pointer"
        case .labelTooLong: "label_too_long"
        case .nameTooLong: "name_too_long"
        case .truncatedQuestion: "truncated_question"
        case .classNotIN: "class_not_in"
        case .tooLarge: "too_large"
        }
    }

    public var description: String {
        switch self {
        case .shorterThanHeader(let count): "\(count) bytes is shorter than a DNS header"
        case .notAQuery: "QR bit set: a response, not a query"
        case .opcodeNotQuery(let opcode): "opcode \(opcode) is not QUERY"
        case .questionCount(let count): "QDCOUNT \(count), expected 1"
        case .compressionPointer: "compression pointer in the question name"
        case .labelTooLong(let length): "label of \(length) octets exceeds 63"
        case .nameTooLong: "name exceeds 255 octets on the wire"
        case .truncatedQuestion: "question runs past the end of the datagram"
        case .classNotIN(let qclass): "class \(qclass) is not IN"
        case .tooLarge: "datagram larger than any query the proxy accepts"
        }
    }
}

/// The strict query parser: header, exactly one question whose name is written
/// out in full (no compression), class IN, opcode QUERY. Everything after the
/// question (e.g. an EDNS0 OPT record) is left alone and forwarded as is.
public enum DNSQueryParser {
    public static let maxLabelLength = 63
    public static let maxNameLength = 255

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(MalformedQuery) -> DNSQuery {
        guard bytes.count >= DNSHeader.length else { throw .shorterThanHeader(bytes.count) }
        let flags = DNSHeader.u16(bytes, 2)
        guard flags & DNSHeader.flagQR == 0 else { throw .notAQuery }
        let opcode = (flags & DNSHeader.opcodeMask) >> 11
        guard opcode == DNSHeader.opcodeQuery else { throw .opcodeNotQuery(opcode) }
        let qdcount = DNSHeader.u16(bytes, 4)
        guard qdcount == 1 else { throw .questionCount(qdcount) }
        let nameLength = try nameWireLength(bytes, at: DNSHeader.length)
        let typeOffset = DNSHeader.length + nameLength
        guard typeOffset + 4 <= bytes.count else { throw .truncatedQuestion }
        let qclass = DNSHeader.u16(bytes, typeOffset + 2)
        guard qclass == dnsClassIN else { throw .classNotIN(qclass) }
        return DNSQuery(
            id: DNSHeader.u16(bytes, 0), flags: flags, nameLength: nameLength,
            qtype: DNSHeader.u16(bytes, typeOffset), qclass: qclass)
    }

    /// Wire length of the uncompressed name starting at `offset` (root byte included).
    static func nameWireLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(MalformedQuery) -> Int {
        var cursor = offset
        while true {
            guard cursor < bytes.count else { throw .truncatedQuestion }
            let length = bytes[cursor]
            if length & 0xC0 == 0xC0 { throw .compressionPointer }
            // 0x40 and 0x80 prefixes (extended/reserved label types) read as lengths
            // of 64...191: a label longer than 63 octets either way.
            guard Int(length) <= maxLabelLength else { throw .labelTooLong(Int(length)) }
            cursor += 1 + Int(length)
            guard cursor - offset <= maxNameLength else { throw .nameTooLong }
            if length == 0 { return cursor - offset }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address: the suite's one address type, which the broker's spec,
/// netnsd's policy and the flow log share. Held as integers (no allocation: the
/// flow log makes two per logged packet), parsed with `inet_pton` and printed with
/// `inet_ntop`, so the text that reaches an nftables ruleset or an event is always
/// canonical (RFC 5952, mapped IPv4 in mixed notation).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The four bytes read big-endian: 192.0.2.1 is 0xC000_0201.
    case v4(UInt32)
    /// The sixteen bytes read big-endian, high half first.
    case v6(UInt64, UInt64)

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text; nil when it is neither. Text
    /// with a NUL byte is refused before inet_pton, which would stop reading at it.
    public init?(parsing text: String) {
        guard !text.isEmpty, text.utf8.count <= 45, !text.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    /// From 4 (IPv4) or 16 (IPv6) bytes in network order.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        func bigEndian<T: FixedWidthInteger>(_ slice: ArraySlice<UInt8>) -> T { slice.reduce(0) { $0 << 8 | T($1) } }
        self = bytes.count == 4 ? .v4(bigEndian(bytes[...])) : .v6(bigEndian(bytes[0 ..< 8]), bigEndian(bytes[8 ..< 16]))
    }

    public static let loopbackV4 = IPAddress.v4(0x7F00_0001)

    /// The address in network order (4 or 16 bytes).
    public var bytes: [UInt8] {
        func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
            (0 ..< T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
        }
        switch self {
        case .v4(let value): return bigEndian(value)
        case .v6(let high, let low): return bigEndian(high) + bigEndian(low)
        }
    }

    public var isV6: Bool { if case .v6 = self { true } else { false } }
    public var bitWidth: Int { isV6 ? 128 : 32 }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let value): value >> 24 == 127
        case .v6(let high, let low): high == 0 && low == 1
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isV6 ? AF_INET6 : AF_INET
        _ = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

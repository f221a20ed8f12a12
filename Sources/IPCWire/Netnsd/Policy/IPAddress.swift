#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, parsed with `inet_pton` and printed with `inet_ntop`,
/// so the text that reaches an nftables ruleset is always canonical.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4([UInt8])
    case v6([UInt8])

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text; nil when it is neither.
    public init?(parsing text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    public static let loopbackV4 = IPAddress.v4([127, 0, 0, 1])

    public var bytes: [UInt8] {
        switch self {
        case .v4(let bytes), .v6(let bytes): bytes
        }
    }

    public var isV6: Bool { if case .v6 = self { true } else { false } }
    public var bitWidth: Int { bytes.count * 8 }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let bytes): bytes[0] == 127
        case .v6(let bytes): bytes == [UInt8](repeating: 0, count: 15) + [1]
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isV6 ? AF_INET6 : AF_INET
        _ = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address with a prefix length (`10.0.0.0/8`, `2001:db8::/32`); a bare address
/// is a host network (/32 or /128). Host bits below the prefix must be zero.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init(parsing text: String, field: String) throws(PolicyError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parsing: String(parts[0])) else {
            throw .invalidField(field: field, value: text, reason: "not an IPv4 or IPv6 address or CIDR")
        }
        var prefix = address.bitWidth
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...address.bitWidth).contains(parsed), parts[1].allSatisfy(\.isASCII) else {
                throw .invalidField(field: field, value: text, reason: "prefix length must be 0-\(address.bitWidth)")
            }
            prefix = parsed
        }
        guard Self.hostBitsAreZero(address.bytes, prefix: prefix) else {
            throw .invalidField(field: field, value: text, reason: "address has bits set below the /\(prefix) prefix")
        }
        self.address = address
        self.prefixLength = prefix
    }

    public var isHost: Bool { prefixLength == address.bitWidth }
    public var description: String { isHost ? address.description : "\(address)/\(prefixLength)" }

    static func hostBitsAreZero(_ bytes: [UInt8], prefix: Int) -> Bool {
        for (index, byte) in bytes.enumerated() {
            let bitsKept = min(8, max(0, prefix - index * 8))
            let hostMask: UInt8 = bitsKept == 8 ? 0 : UInt8(0xFF) >> UInt8(bitsKept)
            if byte & hostMask != 0 { return false }
        }
        return true
    }
}

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

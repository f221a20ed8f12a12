/// An address with a prefix length (`10.0.0.0/8`, `2001:db8::/32`); a bare address
/// is a host network (/32 or /128). Host bits below the prefix must be zero. The
/// one network type: the broker's spec and netnsd's policy parse with `parse`, each
/// wording the `SyntaxError` for its own caller.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// What is wrong with a network's text.
    public enum SyntaxError: Error, Equatable, Sendable {
        case notAnAddress
        /// The prefix is not 1-3 decimal digits of at most `maxBits`.
        case badPrefixLength(maxBits: Int)
        /// Host bits beyond the prefix are set (usually a typo: `10.1.2.3/8`).
        case hostBitsSet(prefix: Int, network: IPNetwork)
    }

    private init(checkedAddress address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// `ADDR` or `ADDR/PREFIX`.
    public static func parse(_ text: String) throws(SyntaxError) -> IPNetwork {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parsing: String(parts[0])) else { throw .notAnAddress }
        let bits = address.bitWidth
        guard parts.count == 2 else { return IPNetwork(checkedAddress: address, prefixLength: bits) }
        guard parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let prefix = Int(parts[1]), prefix <= bits
        else { throw .badPrefixLength(maxBits: bits) }
        var masked = address.bytes
        for bit in prefix ..< bits { masked[bit / 8] &= ~(0x80 >> UInt8(bit % 8)) }
        guard masked == address.bytes else {
            throw .hostBitsSet(prefix: prefix, network: IPNetwork(checkedAddress: IPAddress(bytes: masked), prefixLength: prefix))
        }
        return IPNetwork(checkedAddress: address, prefixLength: prefix)
    }

    /// `parse`, worded for a netnsd policy field.
    public init(parsing text: String, field: String) throws(PolicyError) {
        do { self = try Self.parse(text) } catch {
            let reason = switch error {
            case .notAnAddress: "not an IPv4 or IPv6 address or CIDR"
            case .badPrefixLength(let bits): "prefix length must be 0-\(bits)"
            case .hostBitsSet(let prefix, _): "address has bits set below the /\(prefix) prefix"
            }
            throw .invalidField(field: field, value: text, reason: reason)
        }
    }

    public var isHost: Bool { prefixLength == address.bitWidth }
    public var description: String { isHost ? address.description : "\(address)/\(prefixLength)" }
}

#if canImport(IPCWire)  // the cell-spec fuzz target compiles this file with IPCWire's policy files
import IPCWire
#endif

// Addresses and networks are IPCWire's types, which the netnsd policy carries;
// the broker words their syntax errors for its spec fields.

extension IPNetwork {
    /// `ADDR` or `ADDR/PREFIX` of spec field `field` (whose text is `value`).
    public static func parse(_ text: String, field: String, value: String) throws(SpecError) -> IPNetwork {
        do { return try parse(text) } catch {
            let problem = switch error {
            case .notAnAddress: "is not an IPv4 or IPv6 address or CIDR network"
            case .badPrefixLength(let bits): "has an invalid prefix length (0-\(bits))"
            case .hostBitsSet(let prefix, let network): "has host bits set beyond /\(prefix) (the network is \(network))"
            }
            throw SpecError(field: field, value: value, problem: problem)
        }
    }
}

extension HostPort {
    /// `split` of spec field `field` (whose text is `value`); `afterBracket` words
    /// text after `]` that is not `:PORT` for the field's own syntax.
    public static func split(_ text: String, field: String, value: String, afterBracket: String) throws(SpecError) -> HostPort {
        do { return try split(text) } catch {
            let problem = switch error {
            case .unclosedBracket: "has an unclosed '[' (write [IPv6]:PORT)"
            case .textAfterBracket: afterBracket
            }
            throw SpecError(field: field, value: value, problem: problem)
        }
    }
}

/// An address and port: `192.0.2.53:53`, `[2001:db8::53]:53`, or an address alone (port 53).
public struct SocketAddress: Equatable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public var description: String { address.isV6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    public static func parse(_ text: String, defaultPort: UInt16, field: String, value: String) throws(SpecError) -> SocketAddress {
        let split = try HostPort.split(text, field: field, value: value, afterBracket: "is not ADDR:PORT or [IPv6]:PORT")
        let portText = split.port.map(String.init)
        guard let address = IPAddress(parsing: String(split.host)) else {
            throw SpecError(field: field, value: value, problem: "is not an IP address (ADDR, ADDR:PORT or [IPv6]:PORT)")
        }
        let port = try portText.map { text throws(SpecError) in try PortRange.port(text, field: field, value: value) } ?? defaultPort
        return SocketAddress(address: address, port: port)
    }
}

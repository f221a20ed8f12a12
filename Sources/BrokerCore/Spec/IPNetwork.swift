#if canImport(IPCWire)  // the cell-spec fuzz target compiles this file with IPAddress.swift itself
import IPCWire
#endif

// Addresses are IPCWire's `IPAddress`, the type the netnsd policy carries; the
// broker keeps its own network and socket-address parsing for its spec errors.

/// An address with a prefix length: `10.0.0.0/8`, `2001:db8::/32`, or one host.
public struct IPNetwork: Equatable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public var description: String {
        prefixLength == address.bytes.count * 8 ? address.description : "\(address)/\(prefixLength)"
    }

    /// `ADDR` or `ADDR/PREFIX`; host bits beyond the prefix are refused because they
    /// usually mean a typo (`10.1.2.3/8` for `10.0.0.0/8` or `10.1.2.3/32`).
    public static func parse(_ text: String, field: String, value: String) throws(SpecError) -> IPNetwork {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = IPAddress(parsing: parts[0]) else {
            throw SpecError(field: field, value: value, problem: "is not an IPv4 or IPv6 address or CIDR network")
        }
        let bits = address.bytes.count * 8
        guard parts.count == 2 else { return IPNetwork(address: address, prefixLength: bits) }
        guard parts[1].count <= 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let prefix = Int(parts[1]), prefix <= bits
        else {
            throw SpecError(field: field, value: value, problem: "has an invalid prefix length (0-\(bits))")
        }
        var masked = address.bytes
        for bit in prefix..<bits { masked[bit / 8] &= ~(0x80 >> UInt8(bit % 8)) }
        guard masked == address.bytes else {
            let network = IPNetwork(address: IPAddress(bytes: masked), prefixLength: prefix)
            throw SpecError(field: field, value: value, problem: "has host bits set beyond /\(prefix) (the network is \(network))")
        }
        return IPNetwork(address: address, prefixLength: prefix)
    }
}

/// An address and port: `192.0.2.53:53`, `[2001:db8::53]:53`, or an address alone (port 53).
public struct SocketAddress: Equatable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public var description: String { address.isV6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    public static func parse(_ text: String, defaultPort: UInt16, field: String, value: String) throws(SpecError) -> SocketAddress {
        var host = text
        var portText: String?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw SpecError(field: field, value: value, problem: "has an unclosed '[' (write [IPv6]:PORT)")
            }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw SpecError(field: field, value: value, problem: "is not ADDR:PORT or [IPv6]:PORT") }
                portText = String(rest.dropFirst())
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        guard let address = IPAddress(parsing: host) else {
            throw SpecError(field: field, value: value, problem: "is not an IP address (ADDR, ADDR:PORT or [IPv6]:PORT)")
        }
        let port = try portText.map { text throws(SpecError) in try PortRange.port(text, field: field, value: value) } ?? defaultPort
        return SocketAddress(address: address, port: port)
    }
}

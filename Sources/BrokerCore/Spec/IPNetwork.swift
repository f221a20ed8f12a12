#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address (parsed and printed by `inet_pton`/`inet_ntop`).
public struct IPAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public var isIPv6: Bool { bytes.count == 16 }

    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= 45, !text.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16)
        self.bytes = bytes
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv6 ? AF_INET6 : AF_INET
        _ = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

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
        guard let address = IPAddress(parts[0]) else {
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

    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

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
        guard let address = IPAddress(host) else {
            throw SpecError(field: field, value: value, problem: "is not an IP address (ADDR, ADDR:PORT or [IPv6]:PORT)")
        }
        let port = try portText.map { text throws(SpecError) in try PortRange.port(text, field: field, value: value) } ?? defaultPort
        return SocketAddress(address: address, port: port)
    }
}

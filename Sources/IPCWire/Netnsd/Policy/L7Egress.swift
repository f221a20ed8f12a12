/// How the workload reaches the cell's SNI/Host egress proxy (docs/egressproxy.md).
public enum L7Mode: String, Sendable, CaseIterable {
    /// The cell's nft table redirects TCP to `ports` to the listener.
    case transparent
    /// The workload is told the listener (HTTPS_PROXY/HTTP_PROXY); nothing is redirected.
    case explicit
    case both
}

/// The egress policy's L7 section: the names `cellos-egressproxy` allows, the
/// ports it is reached on, the mode, and the listener netnsd binds in the cell.
/// netnsd only needs the listener and the redirected ports; the names travel so
/// the policy stays one value everywhere (status, audit) and are checked here
/// for shape only (the proxy applies the DNS allowlist's matching rules).
public struct L7Egress: Hashable, Sendable {
    public static let maxNames = 256
    public static let maxPorts = 16
    public static let defaultPorts: [UInt16] = [443, 80]
    public static let defaultListener = try! ResolverAddress(parsing: "127.0.0.1:15001", field: "l7.listener")

    public let names: [String]
    public let ports: [UInt16]
    public let mode: L7Mode
    /// Loopback only, like the resolver: the listener must not be reachable from outside the cell.
    public let listener: ResolverAddress

    public init(names: [String], ports: [UInt16] = L7Egress.defaultPorts, mode: L7Mode = .both,
                listener: ResolverAddress = L7Egress.defaultListener) throws(PolicyError) {
        guard (1...Self.maxNames).contains(names.count) else {
            throw .invalidField(field: "l7.names", value: "\(names.count) names", reason: "1-\(Self.maxNames) names")
        }
        for (index, name) in names.enumerated() where !Self.isNameShaped(name) {
            throw .invalidField(field: "l7.names[\(index)]", value: name, reason: "not NAME, *.NAME, NAME:PORT or *.NAME:PORT")
        }
        guard (1...Self.maxPorts).contains(ports.count) else {
            throw .invalidField(field: "l7.ports", value: "\(ports.count) ports", reason: "1-\(Self.maxPorts) ports")
        }
        var seen = Set<UInt16>()
        for port in ports {
            guard port != 0 else { throw .invalidField(field: "l7.ports", value: "0", reason: "ports are 1-65535") }
            guard seen.insert(port).inserted else { throw .invalidField(field: "l7.ports", value: "\(port)", reason: "duplicate port") }
        }
        // A redirected listener port would send the proxy's own clients back to it.
        guard !ports.contains(listener.port) else {
            throw .invalidField(field: "l7.listener", value: listener.description, reason: "the listener port is one of l7.ports")
        }
        guard !listener.address.isV6 else {
            throw .invalidField(field: "l7.listener", value: listener.description, reason: "the listener is IPv4 loopback in this build")
        }
        self.names = names
        self.ports = ports
        self.mode = mode
        self.listener = listener
    }

    /// The IPv6 loopback listener on the same port (`[::1]:PORT`, `l7-tcp6`): derived,
    /// never on the wire, so it cannot disagree with `listener`.
    public var listener6: ResolverAddress {
        try! ResolverAddress(parsing: "[::1]:\(listener.port)", field: "l7.listener6")
    }

    /// The ports the cell's nft table redirects to the listener (none in explicit mode).
    public var redirectedPorts: [UInt16] { mode == .explicit ? [] : ports }

    /// Letters, digits, '-', '_', '.', an optional leading `*.` and `:PORT`; at most 260 bytes.
    static func isNameShaped(_ name: String) -> Bool {
        var rest = Substring(name)
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        if let colon = rest.lastIndex(of: ":") {
            guard let port = UInt16(rest[rest.index(after: colon)...]), port != 0 else { return false }
            rest = rest[..<colon]
        }
        return !rest.isEmpty && name.utf8.count <= 260 && !rest.hasPrefix(".") && !rest.contains("..")
            && rest.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            }
    }
}

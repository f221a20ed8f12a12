import DNSProxyCore

/// One `egress_names` entry: `example.com`, `*.example.com` (the DNS allowlist's
/// pattern rules: `NamePattern`), optionally with `:PORT`; without a port the
/// entry allows the policy's default ports.
public struct EgressNameRule: Equatable, Sendable, CustomStringConvertible {
    public var pattern: NamePattern
    public var port: UInt16?

    public init?(_ text: String) {
        var name = Substring(text)
        var port: UInt16?
        if let colon = name.lastIndex(of: ":") {
            guard let value = UInt16(name[name.index(after: colon)...]), value != 0 else { return nil }
            port = value
            name = name[..<colon]
        }
        guard let pattern = NamePattern(String(name)) else { return nil }
        self.pattern = pattern
        self.port = port
    }

    public var description: String { port.map { "\(pattern):\($0)" } ?? pattern.description }
}

/// Whether a name may be reached on a port: the name must match some rule
/// (else `denied_name`) and one of the matching rules must cover the port
/// (else `denied_port`).
public struct EgressNameRules: Sendable {
    public let rules: [EgressNameRule]
    public let defaultPorts: [UInt16]
    private let anyPort: NameAllowlist
    private let byPort: [UInt16: NameAllowlist]

    public init(_ rules: [EgressNameRule], defaultPorts: [UInt16]) {
        self.rules = rules
        self.defaultPorts = defaultPorts
        anyPort = NameAllowlist(rules.map(\.pattern))
        var patterns: [UInt16: [NamePattern]] = [:]
        for rule in rules {
            for port in rule.port.map({ [$0] }) ?? defaultPorts { patterns[port, default: []].append(rule.pattern) }
        }
        byPort = patterns.mapValues(NameAllowlist.init)
    }

    public func decide(name: String, port: UInt16) -> EgressReason {
        guard let wire = DomainNameText.wire(name) else { return .deniedName }
        return wire.withUnsafeBytes { wire in
            guard anyPort.allows(wire) else { return .deniedName }
            return byPort[port]?.allows(wire) == true ? .allowed : .deniedPort
        }
    }
}

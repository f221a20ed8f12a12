/// A transport protocol an allow rule may name. `icmp` means ICMP towards an IPv4
/// destination and ICMPv6 towards an IPv6 one.
public enum TransportProtocol: String, Sendable, CaseIterable {
    case tcp, udp, icmp
}

/// One exception to default deny: traffic from the cell to `destination` with
/// `protocol` (and, for tcp/udp, a destination port in `ports`; nil means any port).
public struct AllowRule: Hashable, Sendable {
    /// Names the rule in counters and NFLOG prefixes (`r<id>`).
    public let id: UInt16
    public let destination: IPNetwork
    public let transport: TransportProtocol
    public let ports: PortRange?

    public init(id: UInt16, destination: IPNetwork, transport: TransportProtocol, ports: PortRange?, field: String = "allow") throws(PolicyError) {
        guard id >= 1 else { throw .invalidField(field: "\(field).id", value: "0", reason: "rule ids start at 1") }
        if transport == .icmp, let ports {
            throw .invalidField(field: "\(field).ports", value: ports.description, reason: "icmp has no ports")
        }
        self.id = id
        self.destination = destination
        self.transport = transport
        self.ports = ports
    }

    /// A rule from its text fields, as a request or a command line carries them.
    public init(id: UInt16, destination: String, transport: String, ports: String?, field: String = "allow") throws(PolicyError) {
        let network = try IPNetwork(parsing: destination, field: "\(field).destination")
        guard let parsedTransport = TransportProtocol(rawValue: transport) else {
            throw .invalidField(field: "\(field).protocol", value: transport, reason: "must be one of tcp, udp, icmp")
        }
        let range = try ports.map { text throws(PolicyError) in try PortRange(parsing: text, field: "\(field).ports") }
        try self.init(id: id, destination: network, transport: parsedTransport, ports: range, field: field)
    }

    /// `r<id>`: the rule's label in counters, comments and NFLOG prefixes.
    public var label: String { "r\(id)" }
}

/// Where the cell's DNS proxy listens inside the cell netns. Loopback only: the
/// cell has no other interface the address could live on, and the firewall
/// accepts DNS only on `lo` to exactly this address.
public struct ResolverAddress: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let port: UInt16

    public static let `default` = ResolverAddress(uncheckedAddress: .loopbackV4, port: 53)

    private init(uncheckedAddress: IPAddress, port: UInt16) {
        self.address = uncheckedAddress
        self.port = port
    }

    public init(address: IPAddress, port: UInt16, field: String = "resolver") throws(PolicyError) {
        guard address.isLoopback else {
            throw .invalidField(field: field, value: address.description, reason: "the resolver address must be a loopback address (127.0.0.0/8 or ::1)")
        }
        guard port >= 1 else { throw .invalidField(field: field, value: "\(address) port 0", reason: "port must be 1-65535") }
        self.init(uncheckedAddress: address, port: port)
    }

    /// `127.0.0.1:53`, `127.0.0.53` (port 53) or `[::1]:53`.
    public init(parsing text: String, field: String = "resolver") throws(PolicyError) {
        let split: HostPort
        do { split = try HostPort.split(text) } catch {
            let reason = switch error {
            case .unclosedBracket: "unterminated '[' in an IPv6 address"
            case .textAfterBracket: "expected [address]:port"
            }
            throw .invalidField(field: field, value: text, reason: reason)
        }
        var port: UInt16 = 53
        if let portText = split.port {
            guard let parsed = UInt16(portText) else {
                throw .invalidField(field: field, value: text, reason: split.bracketed ? "expected [address]:port" : "port must be 1-65535")
            }
            port = parsed
        }
        guard let address = IPAddress(parsing: String(split.host)) else {
            throw .invalidField(field: field, value: text, reason: "not an IP address")
        }
        try self.init(address: address, port: port, field: field)
    }

    public var description: String { address.isV6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// How many flow-log (NFLOG) messages per second the cell may cause, shared by all
/// its rules, so a flood of packets cannot flood the host's log consumer.
public struct FlowLogRateLimit: Hashable, Sendable {
    public let packetsPerSecond: UInt32
    public let burst: UInt32

    public static let `default` = FlowLogRateLimit(unchecked: 100, burst: 50)

    private init(unchecked packetsPerSecond: UInt32, burst: UInt32) {
        self.packetsPerSecond = packetsPerSecond
        self.burst = burst
    }

    public init(packetsPerSecond: UInt32, burst: UInt32) throws(PolicyError) {
        guard (1...100_000).contains(packetsPerSecond) else {
            throw .invalidField(field: "logRate.packetsPerSecond", value: "\(packetsPerSecond)", reason: "must be 1-100000")
        }
        guard (1...100_000).contains(burst) else {
            throw .invalidField(field: "logRate.burst", value: "\(burst)", reason: "must be 1-100000")
        }
        self.init(unchecked: packetsPerSecond, burst: burst)
    }
}

/// A cell's egress policy: everything is denied except DNS to the cell's own
/// resolver and the allow rules; every verdict is counted and flow-logged.
public struct EgressPolicy: Hashable, Sendable {
    public static let maxRules = 256

    public let allow: [AllowRule]
    public let resolver: ResolverAddress
    /// The NFLOG group the cell's flow log listens on (groups are per netns).
    public let nflogGroup: UInt16
    public let logRate: FlowLogRateLimit
    /// The SNI/Host egress proxy's section, when the cell has one.
    public let l7: L7Egress?

    public init(
        allow: [AllowRule] = [], resolver: ResolverAddress = .default, nflogGroup: UInt16 = 1,
        logRate: FlowLogRateLimit = .default, l7: L7Egress? = nil
    ) throws(PolicyError) {
        guard allow.count <= Self.maxRules else {
            throw .invalidField(field: "allow", value: "\(allow.count) rules", reason: "at most \(Self.maxRules) rules")
        }
        var seen = Set<UInt16>()
        for (index, rule) in allow.enumerated() where !seen.insert(rule.id).inserted {
            throw .invalidField(field: "allow[\(index)].id", value: "\(rule.id)", reason: "duplicate rule id")
        }
        self.allow = allow
        self.resolver = resolver
        self.nflogGroup = nflogGroup
        self.logRate = logRate
        if let l7, l7.listener == resolver {
            throw .invalidField(field: "l7.listener", value: l7.listener.description, reason: "the same address and port as the resolver")
        }
        // The IPv6 listener (transparent mode) is [::1] on the same port: it must not take the resolver's TCP socket either.
        if let l7, l7.listener6 == resolver {
            throw .invalidField(field: "l7.listener", value: l7.listener.description, reason: "its IPv6 twin \(l7.listener6) is the resolver's address and port")
        }
        self.l7 = l7
    }

    /// Whether any traffic may leave the cell (then it needs an uplink).
    public var allowsEgress: Bool { !allow.isEmpty }
}

extension AllowRule {
    /// The command-line form `ID,PROTOCOL,DESTINATION[,PORTS]`, e.g.
    /// `1,tcp,10.0.0.0/8,80-90` or `2,icmp,2001:db8::1` (commas, since IPv6 uses colons).
    public init(spec: String, field: String = "--allow") throws(PolicyError) {
        let parts = spec.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard (3...4).contains(parts.count) else {
            throw .invalidField(field: field, value: spec, reason: "expected ID,PROTOCOL,DESTINATION[,PORTS]")
        }
        guard let id = UInt16(parts[0]) else {
            throw .invalidField(field: "\(field).id", value: parts[0], reason: "rule id must be 1-65535")
        }
        try self.init(id: id, destination: parts[2], transport: parts[1], ports: parts.count == 4 ? parts[3] : nil, field: field)
    }
}

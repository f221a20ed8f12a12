import DNSProxyCore

/// Everything the proxy runs with, checked before anything is opened.
public struct EgressConfiguration: Sendable {
    public var rules: EgressNameRules
    public var resolver: UpstreamResolver
    public var cellID: String
    public var listen: [SocketAddress] = []
    public var eventsPath: String?
    public var statsInEvents = false
    public var maxConnections = 256
    public var handshakeTimeoutMilliseconds: Int32 = 10_000
    public var connectTimeoutMilliseconds: Int32 = 5000
    public var idleTimeoutMilliseconds: Int32 = 300_000
    public var maxClientHello = 32_768
    public var maxHeadBytes = 8192
    public var allowCapabilities = false
    public var disableSyscallFilter = false

    public init(rules: EgressNameRules, resolver: UpstreamResolver, cellID: String) {
        self.rules = rules
        self.resolver = resolver
        self.cellID = cellID
    }
}

/// The flags as text, before validation.
public struct EgressOptions: Sendable {
    public var listen: [String] = []
    public var upstream: String?
    public var allow: [String] = []
    public var ports: [String] = []
    public var cellID: String?
    public var events: String?
    public var statsInEvents = false
    public var maxConnections = 256
    public var handshakeTimeout: String?
    public var connectTimeout: String?
    public var idleTimeout: String?
    public var resolveTimeout: String?
    public var maxClientHello = 32_768
    public var maxHeadBytes = 8192
    public var allowCapabilities = false
    public var disableSyscallFilter = false

    public init() {}
}

public enum EgressConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(flag: String, value: String, why: String)

    public var description: String {
        switch self {
        case .invalid(let flag, let value, let why): "\(flag) '\(value)': \(why)"
        }
    }
}

extension EgressConfiguration {
    public static func resolve(_ options: EgressOptions) throws(EgressConfigurationError) -> EgressConfiguration {
        var rules: [EgressNameRule] = []
        for entry in options.allow {
            guard let rule = EgressNameRule(entry) else {
                throw .invalid(flag: "--allow", value: entry, why: "not NAME, *.NAME, NAME:PORT or *.NAME:PORT")
            }
            rules.append(rule)
        }
        var ports: [UInt16] = []
        for text in options.ports {
            guard let port = UInt16(text), port != 0 else { throw .invalid(flag: "--port", value: text, why: "not a port from 1 to 65535") }
            if !ports.contains(port) { ports.append(port) }
        }
        if ports.isEmpty { ports = [443, 80] }
        let upstream: SocketAddress
        if let text = options.upstream {
            guard let address = SocketAddress.parse(text, defaultPort: 53) else {
                throw .invalid(flag: "--upstream", value: text, why: "not ADDR, ADDR:PORT or [V6]:PORT")
            }
            upstream = address
        } else {
            guard let address = try? ResolvConf.firstNameserver() else {
                throw .invalid(flag: "--upstream", value: "", why: "not given and no nameserver in /etc/resolv.conf")
            }
            upstream = address
        }
        let resolveTimeout = try milliseconds(options.resolveTimeout, flag: "--resolve-timeout", default: 2000)
        var configuration = EgressConfiguration(
            rules: EgressNameRules(rules, defaultPorts: ports),
            resolver: UpstreamResolver(server: upstream, timeoutMilliseconds: resolveTimeout), cellID: options.cellID ?? "")
        for text in options.listen {
            guard let address = SocketAddress.parse(text) else { throw .invalid(flag: "--listen", value: text, why: "not ADDR:PORT or [V6]:PORT") }
            configuration.listen.append(address)
        }
        configuration.eventsPath = options.events
        configuration.statsInEvents = options.statsInEvents
        guard (1...4096).contains(options.maxConnections) else {
            throw .invalid(flag: "--max-connections", value: String(options.maxConnections), why: "not from 1 to 4096")
        }
        configuration.maxConnections = options.maxConnections
        guard (512...65_536).contains(options.maxClientHello) else {
            throw .invalid(flag: "--max-client-hello", value: String(options.maxClientHello), why: "not from 512 to 65536")
        }
        configuration.maxClientHello = options.maxClientHello
        guard (256...65_536).contains(options.maxHeadBytes) else {
            throw .invalid(flag: "--max-header-bytes", value: String(options.maxHeadBytes), why: "not from 256 to 65536")
        }
        configuration.maxHeadBytes = options.maxHeadBytes
        configuration.handshakeTimeoutMilliseconds = try milliseconds(options.handshakeTimeout, flag: "--handshake-timeout", default: 10_000)
        configuration.connectTimeoutMilliseconds = try milliseconds(options.connectTimeout, flag: "--connect-timeout", default: 5000)
        configuration.idleTimeoutMilliseconds = try milliseconds(options.idleTimeout, flag: "--idle-timeout", default: 300_000)
        configuration.allowCapabilities = options.allowCapabilities
        configuration.disableSyscallFilter = options.disableSyscallFilter
        return configuration
    }

    /// A duration as the DNS proxy reads one (`2`, `2s`, `1.5s`, `500ms`), from 1 ms to one hour.
    static func milliseconds(_ text: String?, flag: String, default fallback: Int32) throws(EgressConfigurationError) -> Int32 {
        guard let text else { return fallback }
        guard let value = ProxyConfiguration.parseMilliseconds(text), (1...3_600_000).contains(value) else {
            throw .invalid(flag: flag, value: text, why: "not a duration from 1ms to 1h (2, 2s, 1.5s, 500ms)")
        }
        return Int32(value)
    }
}

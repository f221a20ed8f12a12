#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// Everything the proxy runs with, after flags, the policy file and
/// /etc/resolv.conf have been combined and checked.
public struct ProxyConfiguration: Sendable {
    public var listen: SocketAddress?
    public var upstream: SocketAddress
    public var names: NameAllowlist
    public var queryTypes: QueryTypeAllowlist
    public var cellID: String
    public var eventsPath: String?
    /// The final stats line goes to the events stream, not standard error.
    public var statsInEvents: Bool
    public var upstreamTimeoutMilliseconds: Int
    public var allowCapabilities: Bool
    public var maxInflight: Int
    public var eventQueueCapacity: Int
    public var upstreamSockets: Int
    public var tcpMaxConnections: Int
    public var tcpIdleTimeoutMilliseconds: Int
    /// Queries one TCP connection may have waiting upstream (`--tcp-max-inflight`),
    /// so pipelining clients cannot take the whole `maxInflight` table from UDP.
    public var tcpMaxInflightPerConnection: Int
}

/// The command line as text, before validation (the executable fills it in).
public struct ProxyOptions: Sendable {
    public var listen: String?
    public var upstream: String?
    public var allow: [String] = []
    public var allowQueryTypes: [String] = []
    public var cellID: String?
    public var events: String?
    public var statsInEvents = false
    public var policyFile: String?
    public var upstreamTimeout: String?
    public var allowCapabilities = false
    /// `--user`, resolved: whom a root-started proxy becomes once its sockets and
    /// events file are open (nil: the default, `IdentityDrop.defaultTarget()`).
    public var user: AccountIdentity?
    public var maxInflight = 4096
    public var eventQueueCapacity = 8192
    public var upstreamSockets = 4
    public var tcpMaxConnections = 128
    public var tcpIdleTimeout: String?
    public var tcpMaxInflightPerConnection = 32
    /// Debugging only: skip no_new_privs and the seccomp filter.
    public var disableSyscallFilter = false
    /// Where the default upstream comes from (a flag only tests change).
    public var resolvConfPath = "/etc/resolv.conf"

    public init() {}
}

/// A configuration that cannot be used, naming the flag or field and the value.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidAddress(flag: String, value: String)
    case invalidName(flag: String, value: String)
    case invalidQueryType(flag: String, value: String)
    case invalidDuration(flag: String, value: String)
    case outOfRange(flag: String, value: Int, range: ClosedRange<Int>)
    case noUpstream(resolvConf: String)
    case policyFile(path: String, reason: String)
    case invalidCellID(String)
    case statsInEventsWithoutEvents

    public var description: String {
        switch self {
        case .invalidAddress(let flag, let value): "\(flag): '\(value)' is not ADDR:PORT (IPv6 as [ADDR]:PORT)"
        case .invalidName(let flag, let value):
            "\(flag): '\(value)' is not a name or *.name (labels of letters, digits, '-' or '_', 1-63 octets)"
        case .invalidQueryType(let flag, let value): "\(flag): '\(value)' is not a query type (e.g. A, AAAA, TYPE65, 65)"
        case .invalidDuration(let flag, let value): "\(flag): '\(value)' is not a duration (e.g. 2, 2s, 500ms)"
        case .outOfRange(let flag, let value, let range): "\(flag): \(value) is outside \(range.lowerBound)...\(range.upperBound)"
        case .noUpstream(let path): "no --upstream given and no nameserver line in \(path)"
        case .policyFile(let path, let reason): "--policy \(path): \(reason)"
        case .statsInEventsWithoutEvents: "--stats-in-events needs --events PATH: there is no events stream to write the stats to"
        case .invalidCellID(let value): "--cell-id: '\(value)' must be 1-128 printable ASCII characters without quotes or backslashes"
        }
    }
}

extension ProxyConfiguration {
    /// Combines `options` with the policy file they name (flags add names and types to
    /// the file's lists and override its single values) and the resolver file.
    public static func resolve(_ options: ProxyOptions) throws(ConfigurationError) -> ProxyConfiguration {
        var policy = PolicyFile()
        if let path = options.policyFile { policy = try PolicyFile.load(path: path) }

        let listen: SocketAddress?
        if let text = options.listen {
            guard let address = SocketAddress.parse(text) else { throw .invalidAddress(flag: "--listen", value: text) }
            listen = address
        } else {
            listen = nil
        }

        let upstream: SocketAddress
        if let text = options.upstream ?? policy.upstream {
            let flag = options.upstream != nil ? "--upstream" : "policy field upstream"
            guard let address = SocketAddress.parse(text, defaultPort: 53) else { throw .invalidAddress(flag: flag, value: text) }
            upstream = address
        } else {
            upstream = try ResolvConf.firstNameserver(path: options.resolvConfPath)
        }

        var patterns: [NamePattern] = []
        for (flag, values) in [("policy field allow", policy.allow), ("--allow", options.allow)] {
            for value in values {
                guard let pattern = NamePattern(value) else { throw .invalidName(flag: flag, value: value) }
                patterns.append(pattern)
            }
        }

        var types: [UInt16] = []
        for (flag, values) in [("policy field allow_qtypes", policy.allowQueryTypes ?? []), ("--allow-qtype", options.allowQueryTypes)] {
            for value in values {
                guard let type = DNSQueryType.parse(value) else { throw .invalidQueryType(flag: flag, value: value) }
                types.append(type)
            }
        }
        if policy.allowQueryTypes == nil && options.allowQueryTypes.isEmpty { types = QueryTypeAllowlist.defaultTypes }

        let timeout: Int
        if let text = options.upstreamTimeout {
            guard let value = parseMilliseconds(text) else { throw .invalidDuration(flag: "--upstream-timeout", value: text) }
            timeout = value
        } else {
            timeout = policy.upstreamTimeoutMilliseconds ?? 2000
        }
        try check("--upstream-timeout (ms)", timeout, 1...60_000)
        try check("--max-inflight", options.maxInflight, 1...32768)
        try check("--event-queue", options.eventQueueCapacity, 16...1 << 20)
        try check("--upstream-sockets", options.upstreamSockets, 1...64)
        try check("--tcp-max-connections", options.tcpMaxConnections, 1...4096)
        var tcpIdle = 10_000
        if let text = options.tcpIdleTimeout {
            guard let value = parseMilliseconds(text) else { throw .invalidDuration(flag: "--tcp-idle-timeout", value: text) }
            tcpIdle = value
        }
        try check("--tcp-idle-timeout (ms)", tcpIdle, 1...3_600_000)
        try check("--tcp-max-inflight", options.tcpMaxInflightPerConnection, 1...32768)

        let cellID = options.cellID ?? policy.cellID ?? ""
        guard cellID.utf8.count <= 128,
              cellID.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { throw .invalidCellID(cellID) }

        if options.statsInEvents && options.events == nil { throw .statsInEventsWithoutEvents }

        return ProxyConfiguration(
            listen: listen, upstream: upstream, names: NameAllowlist(patterns),
            queryTypes: QueryTypeAllowlist(types), cellID: cellID, eventsPath: options.events,
            statsInEvents: options.statsInEvents,
            upstreamTimeoutMilliseconds: timeout, allowCapabilities: options.allowCapabilities,
            maxInflight: options.maxInflight, eventQueueCapacity: options.eventQueueCapacity,
            upstreamSockets: options.upstreamSockets, tcpMaxConnections: options.tcpMaxConnections,
            tcpIdleTimeoutMilliseconds: tcpIdle, tcpMaxInflightPerConnection: options.tcpMaxInflightPerConnection)
    }

    /// "2", "2s", "0.5s", "1500ms" → milliseconds.
    public static func parseMilliseconds(_ text: String) -> Int? {
        if text.hasSuffix("ms") { return Int(text.dropLast(2)) }
        let seconds = text.hasSuffix("s") ? String(text.dropLast()) : text
        guard let value = Double(seconds), value.isFinite, value >= 0, value <= 3600 else { return nil }
        return Int((value * 1000).rounded())
    }

    private static func check(_ flag: String, _ value: Int, _ range: ClosedRange<Int>) throws(ConfigurationError) {
        guard range.contains(value) else { throw .outOfRange(flag: flag, value: value, range: range) }
    }
}

import IPCWire
/// The nftables ruleset of one cell: table `inet cellos` inside the cell netns
/// (the `inet` family covers IPv4 and IPv6 with one policy, so IPv6 cannot bypass).
///
/// The output chain, in order:
/// 1. `established` — packets of flows already accepted (and their replies) pass.
/// 2. `resolver` — UDP and TCP to the cell's resolver address and port on `lo`.
/// 2b. `l7` — with an L7 section: TCP to the egress proxy's listener on `lo`
///    (where the `l7-redirect` rule of the `l7redirect` nat chain, which runs
///    before this filter chain, sends the redirected ports); `l7v6` the same for
///    the IPv6 listener `[::1]` (`l7-redirect-v6`), in transparent mode.
/// 3. `ndp` — IPv6 neighbour solicitation/advertisement, without which no IPv6
///    allow rule could reach its next hop.
/// 4. `dns` — UDP/TCP 53 and 853 anywhere else: logged and dropped, before the
///    allow rules, so no allow rule can open a path around the DNS proxy.
/// 5. `r<id>` — each allow rule: logged, counted, accepted.
/// 6. `default` — everything else: logged, counted, dropped (also the chain policy).
///
/// Logging is a separate rule in front of its verdict rule because `limit` is a
/// match: over the limit the log rule stops matching, but the verdict rule still
/// applies. All log rules share one named limit (`flowlog`).
public struct CellRuleset: Sendable {
    public static let table = "cellos"
    public static let family = "inet"
    public static let chain = "output"
    public static let limitName = "flowlog"
    public static let redirectChain = "l7redirect"

    /// The transparent-mode redirects of the L7 ports to the listeners (none
    /// without one): IPv4 to 127.0.0.1 (`l7-redirect`), IPv6 to ::1
    /// (`l7-redirect-v6`, the `l7-tcp6` listener on the same port), each counted.
    public var redirectRules: [String] {
        guard let l7 = policy.l7, !l7.redirectedPorts.isEmpty else { return [] }
        let ports = l7.redirectedPorts.map(String.init).joined(separator: ", ")
        return [("ipv4", Self.redirectLabel), ("ipv6", Self.redirectLabel6)].map { family, label in
            "meta nfproto \(family) meta l4proto tcp tcp dport { \(ports) } counter redirect to :\(l7.listener.port) comment \"\(label)\""
        }
    }
    public static let redirectLabel = "l7-redirect"
    public static let redirectLabel6 = "l7-redirect-v6"

    public let policy: EgressPolicy
    public let rules: [NftRule]

    public init(_ policy: EgressPolicy) {
        self.policy = policy
        var rules: [NftRule] = []
        func log(_ prefix: String) -> FlowLogStatement { FlowLogStatement(group: policy.nflogGroup, prefix: prefix) }

        rules.append(NftRule(label: "established", matches: ["ct state established,related"], verdict: .accept))

        let resolverFamily = policy.resolver.address.isV6 ? "ip6" : "ip"
        for transport in ["udp", "tcp"] {
            rules.append(NftRule(
                label: "resolver",
                matches: ["oifname \"lo\"", "\(resolverFamily) daddr \(policy.resolver.address)", "\(transport) dport \(policy.resolver.port)"],
                verdict: .accept))
        }

        if let l7 = policy.l7 {
            rules.append(NftRule(
                label: "l7", matches: ["oifname \"lo\"", "ip daddr \(l7.listener.address)", "tcp dport \(l7.listener.port)"],
                verdict: .accept))
            if !l7.redirectedPorts.isEmpty {
                rules.append(NftRule(
                    label: "l7v6", matches: ["oifname \"lo\"", "ip6 daddr \(l7.listener6.address)", "tcp dport \(l7.listener6.port)"],
                    verdict: .accept))
            }
        }

        rules.append(NftRule(label: "ndp", matches: ["icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }"], verdict: .accept))

        let dnsMatches = ["meta l4proto { tcp, udp }", "th dport { 53, 853 }"]
        rules.append(NftRule(label: "dns", matches: dnsMatches, log: log(FlowLogPrefix.drop("dns"))))
        rules.append(NftRule(label: "dns", matches: dnsMatches, verdict: .drop))

        for rule in policy.allow {
            let matches = Self.matches(for: rule)
            rules.append(NftRule(label: rule.label, matches: matches, log: log(FlowLogPrefix.accept(rule.label))))
            rules.append(NftRule(label: rule.label, matches: matches, verdict: .accept))
        }

        rules.append(NftRule(label: "default", matches: [], log: log(FlowLogPrefix.drop("default"))))
        rules.append(NftRule(label: "default", matches: [], verdict: .drop))
        self.rules = rules
    }

    static func matches(for rule: AllowRule) -> [String] {
        let family = rule.destination.address.isV6 ? "ip6" : "ip"
        var matches = ["\(family) daddr \(rule.destination)"]
        switch rule.transport {
        case .tcp, .udp:
            if let ports = rule.ports {
                matches.append("\(rule.transport.rawValue) dport \(ports)")
            } else {
                matches.append("meta l4proto \(rule.transport.rawValue)")
            }
        case .icmp:
            matches.append(rule.destination.address.isV6 ? "meta l4proto ipv6-icmp" : "meta l4proto icmp")
        }
        return matches
    }

    /// Every label that carries a counter, in chain order, without repeats.
    public var counterLabels: [String] {
        var seen = Set<String>()
        let labels = rules.filter { $0.verdict != nil }.map(\.label).filter { seen.insert($0).inserted }
        return labels + (redirectRules.isEmpty ? [] : [Self.redirectLabel, Self.redirectLabel6])
    }

    /// The ruleset as one atomic nft transaction: `add` + `delete` first so a
    /// reload replaces a previous table instead of failing or merging.
    public var text: String {
        var lines = [
            "add table \(Self.family) \(Self.table)",
            "delete table \(Self.family) \(Self.table)",
            "table \(Self.family) \(Self.table) {",
            "\tlimit \(Self.limitName) {",
            "\t\trate \(policy.logRate.packetsPerSecond)/second burst \(policy.logRate.burst) packets",
            "\t}",
            "\tchain \(Self.chain) {",
            "\t\ttype filter hook output priority filter; policy drop;",
        ]
        lines += rules.map { "\t\t\($0.text)" }
        lines.append("\t}")
        if !redirectRules.isEmpty {
            // -100 (dstnat) runs before the filter hook at 0: the filter chain sees the listener as the destination.
            lines += ["\tchain \(Self.redirectChain) {", "\t\ttype nat hook output priority -100; policy accept;"]
            lines += redirectRules.map { "\t\t\($0)" }
            lines.append("\t}")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// One rule of the cell chain: matches, then either a flow-log statement (no
/// verdict, evaluation continues) or a counter and a verdict; labelled by comment.
public struct NftRule: Sendable, Equatable {
    public enum Verdict: String, Sendable { case accept, drop }

    public let label: String
    public let matches: [String]
    public let log: FlowLogStatement?
    public let verdict: Verdict?

    init(label: String, matches: [String], verdict: Verdict) {
        self.label = label
        self.matches = matches
        self.log = nil
        self.verdict = verdict
    }

    init(label: String, matches: [String], log: FlowLogStatement) {
        self.label = label
        self.matches = matches
        self.log = log
        self.verdict = nil
    }

    public var text: String {
        var parts = matches
        if let log { parts.append("limit name \"\(CellRuleset.limitName)\" log group \(log.group) prefix \"\(log.prefix)\"") }
        if let verdict { parts += ["counter", verdict.rawValue] }
        parts.append("comment \"\(label)\"")
        return parts.joined(separator: " ")
    }
}

/// A rate-limited NFLOG statement: the packet goes to `group` with `prefix`.
public struct FlowLogStatement: Sendable, Equatable {
    public let group: UInt16
    public let prefix: String
}

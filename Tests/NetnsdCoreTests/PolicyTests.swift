import IPCWire
import NetnsdCore
import Testing

@Suite struct PolicyTests {
    @Test func parsesAddressesNetworksAndPortsCanonically() throws {
        #expect(try IPNetwork(parsing: "10.0.0.0/8", field: "f").description == "10.0.0.0/8")
        #expect(try IPNetwork(parsing: "192.0.2.7", field: "f").description == "192.0.2.7")
        #expect(try IPNetwork(parsing: "2001:DB8:0::/32", field: "f").description == "2001:db8::/32")
        #expect(try IPNetwork(parsing: "2001:db8::1", field: "f").prefixLength == 128)
        #expect(try PortRange(parsing: "8000-8099", field: "f") == PortRange(lower: 8000, upper: 8099))
        #expect(try PortRange(parsing: "443", field: "f").description == "443")
        #expect(try ResolverAddress(parsing: "[::1]:5353").description == "[::1]:5353")
        #expect(try ResolverAddress(parsing: "127.0.0.53") == ResolverAddress(address: IPAddress(parsing: "127.0.0.53")!, port: 53))
    }

    @Test(arguments: [
        ("10.0.0.300/8", "not an IPv4 or IPv6 address or CIDR"),
        ("10.0.0.1/8", "address has bits set below the /8 prefix"),
        ("10.0.0.0/33", "prefix length must be 0-32"),
        ("10.0.0.0/", "prefix length must be 0-32"),
        ("fd00::/129", "prefix length must be 0-128"),
        ("example.com", "not an IPv4 or IPv6 address or CIDR"),
        ("10.0.0.0/8\" accept", "prefix length must be 0-32"),
    ])
    func refusesBadDestinationsNamingFieldAndValue(value: String, reason: String) {
        #expect(throws: PolicyError.invalidField(field: "allow[3].destination", value: value, reason: reason)) {
            try AllowRule(id: 1, destination: value, transport: "tcp", ports: "80", field: "allow[3]")
        }
    }

    @Test func refusesBadPortsProtocolsAndIds() {
        #expect(throws: PolicyError.invalidField(field: "allow[0].ports", value: "90-80", reason: "range start is above its end")) {
            try AllowRule(id: 1, destination: "10.0.0.1", transport: "tcp", ports: "90-80", field: "allow[0]")
        }
        #expect(throws: PolicyError.invalidField(field: "allow[0].ports", value: "0", reason: "port 0 is not a destination port")) {
            try AllowRule(id: 1, destination: "10.0.0.1", transport: "udp", ports: "0", field: "allow[0]")
        }
        #expect(throws: PolicyError.invalidField(field: "allow[0].ports", value: "65536", reason: "ports must be N or N-M with N, M in 1-65535")) {
            try AllowRule(id: 1, destination: "10.0.0.1", transport: "udp", ports: "65536", field: "allow[0]")
        }
        #expect(throws: PolicyError.invalidField(field: "allow[0].protocol", value: "sctp", reason: "must be one of tcp, udp, icmp")) {
            try AllowRule(id: 1, destination: "10.0.0.1", transport: "sctp", ports: nil, field: "allow[0]")
        }
        #expect(throws: PolicyError.invalidField(field: "allow[0].ports", value: "80", reason: "icmp has no ports")) {
            try AllowRule(id: 1, destination: "10.0.0.1", transport: "icmp", ports: "80", field: "allow[0]")
        }
        #expect(throws: PolicyError.invalidField(field: "allow[0].id", value: "0", reason: "rule ids start at 1")) {
            try AllowRule(id: 0, destination: "10.0.0.1", transport: "icmp", ports: nil, field: "allow[0]")
        }
    }

    @Test func refusesDuplicateIdsNonLoopbackResolverAndBadRates() throws {
        let rule = try AllowRule(id: 4, destination: "10.0.0.1", transport: "tcp", ports: "80")
        #expect(throws: PolicyError.invalidField(field: "allow[1].id", value: "4", reason: "duplicate rule id")) {
            try EgressPolicy(allow: [rule, rule])
        }
        #expect(throws: PolicyError.invalidField(
            field: "resolver", value: "10.0.0.53",
            reason: "the resolver address must be a loopback address (127.0.0.0/8 or ::1)")) {
            try ResolverAddress(parsing: "10.0.0.53:53")
        }
        #expect(throws: PolicyError.invalidField(field: "logRate.packetsPerSecond", value: "0", reason: "must be 1-100000")) {
            try FlowLogRateLimit(packetsPerSecond: 0, burst: 5)
        }
    }

    @Test func rulesetOrdersResolverAndDNSDropBeforeAllowRulesAndEndsInLoggedDefaultDrop() throws {
        let policy = try EgressPolicy(
            allow: [
                try AllowRule(id: 1, destination: "0.0.0.0/0", transport: "udp", ports: nil),
                try AllowRule(id: 7, destination: "2001:db8::/32", transport: "icmp", ports: nil),
            ],
            nflogGroup: 9)
        let ruleset = CellRuleset(policy)
        let labels = ruleset.rules.map(\.label)
        // DNS to anywhere is dropped before an allow rule (even one allowing all UDP) can match.
        let dnsDrop = try #require(ruleset.rules.firstIndex { $0.label == "dns" && $0.verdict == .drop })
        let firstAllow = try #require(labels.firstIndex(of: "r1"))
        #expect(labels.lastIndex(of: "resolver")! < dnsDrop)
        #expect(dnsDrop < firstAllow)
        #expect(ruleset.rules.last == ruleset.rules.last { $0.label == "default" && $0.verdict == .drop })
        #expect(ruleset.counterLabels == ["established", "resolver", "ndp", "dns", "r1", "r7", "default"])
        // Every allow and drop verdict after the resolver has a flow-log rule in front of it.
        for label in ["dns", "r1", "r7", "default"] {
            let log = try #require(ruleset.rules.first { $0.label == label && $0.log != nil }?.log)
            #expect(log.group == 9)
            #expect(log.prefix == (label.hasPrefix("r") ? "cellos-flow accept \(label)" : "cellos-flow drop \(label)"))
        }
        #expect(ruleset.text.contains("ip6 daddr 2001:db8::/32 meta l4proto ipv6-icmp counter accept comment \"r7\""))
        #expect(ruleset.text.contains("type filter hook output priority filter; policy drop;"))
    }
}

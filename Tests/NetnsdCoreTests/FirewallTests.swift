import CellosTestLab
import Foundation
import IPCWire
@testable import NetnsdCore
import NetworkNamespaces
import Testing

@Suite(.serialized) struct FirewallTests {
    static func samplePolicy() throws -> EgressPolicy {
        try EgressPolicy(
            allow: [
                try AllowRule(id: 1, destination: "10.77.0.2", transport: "tcp", ports: "8080"),
                try AllowRule(id: 2, destination: "10.77.0.0/24", transport: "tcp", ports: "7000-7010"),
                try AllowRule(id: 3, destination: "fd77::/64", transport: "tcp", ports: "8080"),
                try AllowRule(id: 4, destination: "10.77.0.2", transport: "icmp", ports: nil),
            ],
            nflogGroup: 42, logRate: try FlowLogRateLimit(packetsPerSecond: 20, burst: 5))
    }

    /// The ruleset loaded through libnftables is what the nft CLI lists in that
    /// netns: one table, the output hook with policy drop, and rule by rule the
    /// label, verdict, counter, log prefix/group and the allow rules' destinations.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func loadedTableIsWhatNftListsInTheNamespace() throws {
        try PrivilegedTest.requireRoot()
        let policy = try Self.samplePolicy()
        let expected = CellRuleset(policy)
        let namespace = try freshNamespace()
        try CellFirewall.load(policy, in: namespace)
        let listing = try NftRulesetListing.ofNamespace(fd: namespace.rawValue)
        #expect(listing.tables == ["inet cellos"])
        #expect(listing.chainHook == "output")
        #expect(listing.chainPolicy == "drop")
        #expect(listing.limitRate == 20)
        #expect(listing.limitBurst == 5)
        try #require(listing.rules.count == expected.rules.count)
        for (observed, rule) in zip(listing.rules, expected.rules) {
            #expect(observed.label == rule.label)
            #expect(observed.verdict == rule.verdict?.rawValue)
            #expect(observed.hasCounter == (rule.verdict != nil))
            #expect(observed.logPrefix == rule.log?.prefix)
            #expect(observed.logGroup == rule.log.map { Int($0.group) })
            #expect(observed.limitName == (rule.log == nil ? nil : CellRuleset.limitName))
        }
        let r1 = try #require(listing.rules.first { $0.label == "r1" && $0.verdict == "accept" })
        #expect(r1.matchValues == ["\"10.77.0.2\"", "8080"])
        let r2 = try #require(listing.rules.first { $0.label == "r2" && $0.verdict == "accept" })
        #expect(r2.matchValues == ["{\"prefix\":{\"addr\":\"10.77.0.0\",\"len\":24}}", "{\"range\":[7000,7010]}"])
        let r3 = try #require(listing.rules.first { $0.label == "r3" && $0.verdict == "accept" })
        #expect(r3.matchValues == ["{\"prefix\":{\"addr\":\"fd77::\",\"len\":64}}", "8080"])
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func reloadReplacesTheTable() throws {
        try PrivilegedTest.requireRoot()
        let namespace = try freshNamespace()
        try CellFirewall.load(try Self.samplePolicy(), in: namespace)
        #expect(try CellFirewall.readCounters(in: namespace).labels.contains("r1"))
        try CellFirewall.load(try EgressPolicy(), in: namespace)
        let listing = try NftRulesetListing.ofNamespace(fd: namespace.rawValue)
        #expect(listing.tables == ["inet cellos"])
        #expect(listing.rules.count == CellRuleset(try EgressPolicy()).rules.count)
        let counters = try CellFirewall.readCounters(in: namespace)
        #expect(counters.labels == ["established", "resolver", "ndp", "dns", "default"])
    }

    /// A command libnftables refuses fails with nft's own message from the error buffer.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func nftErrorsAreReportedWithLibnftablesMessage() throws {
        try PrivilegedTest.requireRoot()
        let namespace = try freshNamespace()
        let error = try NetworkNamespace.run(in: namespace) { () -> NftablesError? in
            let session = try NftablesSession()
            do {
                try session.run("add rule inet nosuchtable output accept", purpose: "test rule")
                return nil
            } catch let error as NftablesError { return error }
        }
        guard case .commandFailed(let purpose, let message)? = error else {
            Issue.record("expected commandFailed, got \(String(describing: error))")
            return
        }
        #expect(purpose == "test rule")
        #expect(message.contains("No such file or directory"))
        #expect(message.contains("nosuchtable"))
    }

    /// Two lab namespaces on a veth: TCP listeners on allowed and denied ports in
    /// the service namespace, connections from the cell; verdicts and counters agree.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func allowedConnectionsPassDeniedFailAndCountersMatch() throws {
        try withLab { lab in
            let cell = try lab.addNamespace("cell")
            let service = try lab.addNamespace("svc")
            // No IPv6 on the cell's link: router solicitations and MLD reports would
            // otherwise hit the default-drop counter at unpredictable times.
            try lab.inside(cell) {
                for path in ["/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"] {
                    try "1\n".write(toFile: path, atomically: false, encoding: .utf8)
                }
            }
            try lab.link(cell, "10.77.0.1/24", service, "10.77.0.2/24")
            var listeners: [Int32] = []
            defer { listeners.forEach { _ = close($0) } }
            try lab.inside(service) {
                for port: UInt16 in [8080, 7005, 9090] { listeners.append(try NetProbe.tcpListener("10.77.0.2", port)) }
            }
            let namespace = try NetworkNamespace.open(path: cell.path)
            try CellFirewall.load(try Self.samplePolicy(), in: namespace)
            let before = try CellFirewall.readCounters(in: namespace)
            #expect(before["r1"]?.packets == 0)

            let results = try lab.inside(cell) {
                (allowed: NetProbe.tcpConnect("10.77.0.2", 8080),
                 inRange: NetProbe.tcpConnect("10.77.0.2", 7005),
                 denied: NetProbe.tcpConnect("10.77.0.2", 9090),
                 dns: NetProbe.udpSend("10.77.0.2", 53))
            }
            #expect(results.allowed == 0)
            #expect(results.inRange == 0)
            // A dropped SYN is retransmitted, never answered: the connect does not complete.
            #expect(results.denied == ETIMEDOUT)
            // A dropped UDP datagram fails sendto with EPERM (dropped in the output hook).
            #expect(results.dns == EPERM)

            let after = try CellFirewall.readCounters(in: namespace)
            // Only a flow's first packet reaches its rule; the rest are `established`.
            #expect(after["r1"]?.packets == 1)
            #expect(after["r2"]?.packets == 1)
            #expect(after["r3"]?.packets == 0)
            #expect(after["dns"]?.packets == 1)
            // The denied SYN and however many retransmissions fit before the probe gave up.
            let deniedSYNs = try #require(after["default"]?.packets)
            #expect(deniedSYNs >= 1)
            #expect((after["established"]?.packets ?? 0) >= 2)

            // One more denied packet, this time exactly one: a UDP datagram to a port no rule allows.
            #expect(try lab.inside(cell) { NetProbe.udpSend("10.77.0.2", 9999) } == EPERM)
            let final = try CellFirewall.readCounters(in: namespace)
            #expect(final["default"]?.packets == deniedSYNs + 1)
            #expect(final["r1"] == after["r1"])
            // The CLI's view of the same counters.
            let listing = try NftRulesetListing.ofNamespace(fd: namespace.rawValue)
            #expect(listing.rules.first { $0.label == "default" && $0.hasCounter }?.counterPackets == Int(deniedSYNs + 1))
        }
    }

    /// IPv6 gets the same policy: an allowed IPv6 destination connects, a denied port
    /// does not, and DNS over IPv6 to anywhere but the resolver is dropped.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func ipv6FollowsTheSamePolicy() throws {
        try withLab { lab in
            let cell = try lab.addNamespace("cell")
            let service = try lab.addNamespace("svc")
            let pair = try lab.link(cell, "10.77.0.1/24", service, "10.77.0.2/24")
            try Shell.check(["ip", "-n", cell.name, "addr", "add", "fd77::1/64", "dev", pair.nameA, "nodad"])
            try Shell.check(["ip", "-n", service.name, "addr", "add", "fd77::2/64", "dev", pair.nameB, "nodad"])
            var listeners: [Int32] = []
            defer { listeners.forEach { _ = close($0) } }
            try lab.inside(service) {
                for port: UInt16 in [8080, 9090] { listeners.append(try NetProbe.tcpListener("fd77::2", port)) }
            }
            let namespace = try NetworkNamespace.open(path: cell.path)
            try CellFirewall.load(try Self.samplePolicy(), in: namespace)
            let results = try lab.inside(cell) {
                (allowed: NetProbe.tcpConnect("fd77::2", 8080), denied: NetProbe.tcpConnect("fd77::2", 9090),
                 dns: NetProbe.udpSend("fd77::2", 53), dot: NetProbe.tcpConnect("fd77::2", 853))
            }
            #expect(results.allowed == 0)
            #expect(results.denied == ETIMEDOUT)
            #expect(results.dns == EPERM)
            #expect(results.dot == ETIMEDOUT)
            let counters = try CellFirewall.readCounters(in: namespace)
            #expect(counters["r3"]?.packets == 1)
            // The UDP query and at least one DNS-over-TLS SYN.
            #expect((counters["dns"]?.packets ?? 0) >= 2)
            #expect((counters["default"]?.packets ?? 0) >= 1)
        }
    }
}


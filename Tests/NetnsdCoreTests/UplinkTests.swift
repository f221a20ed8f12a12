import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import NetworkNamespaces
import Testing

/// The uplink is built in a lab namespace standing in for the host ("up"), linked
/// to an "internet" namespace ("net") with TCP services; nothing touches the real host.
@Suite(.serialized) struct UplinkTests {
    @Test func poolHandsOutDistinctSlashThirtiesAndTakesThemBack() throws {
        let pool = try UplinkPool(network: try IPNetwork(parsing: "10.200.0.0/29", field: "pool"))
        #expect(pool.capacity == 2)
        let first = try #require(pool.allocate())
        let second = try #require(pool.allocate())
        #expect(first.hostAddress.description == "10.200.0.1")
        #expect(first.cellAddress.description == "10.200.0.2")
        #expect(second.hostAddress.description == "10.200.0.5")
        #expect(pool.allocate() == nil)
        pool.release(first)
        #expect(pool.allocate() == first)
        // Slots go round: a released slot comes back only after the other free ones.
        let wide = try UplinkPool(network: try IPNetwork(parsing: "10.200.0.0/28", field: "pool"))
        let a = try #require(wide.allocate())
        wide.release(a)
        let b = try #require(wide.allocate())
        #expect(b.index == 1, "the slot just released is not reused at once")
        wide.release(b)
        #expect(try #require(wide.allocate()).index == 2 && wide.allocate()?.index == 3 && wide.allocate()?.index == 0)
        #expect(throws: PolicyError.self) { try UplinkPool(network: try IPNetwork(parsing: "fd00::/64", field: "pool")) }
    }

    static func pool(_ v4: String, _ v6: String?) throws -> UplinkPool {
        try UplinkPool(network: try IPNetwork(parsing: v4, field: "pool"), network6: try v6.map { try IPNetwork(parsing: $0, field: "pool6") })
    }

    @Test func ipv6PoolGivesEachSlotTheSlash126WithItsIndex() throws {
        let pool = try Self.pool("10.200.0.0/24", "fd00:ce11::/64")
        // The IPv4 /24 bounds it: 64 /30s (the /64 would hold 2^62 /126s).
        #expect(pool.capacity == 64)
        let first = try #require(pool.allocate())
        let second = try #require(pool.allocate())
        #expect(first.hostAddress6?.description == "fd00:ce11::1")
        #expect(first.cellAddress6?.description == "fd00:ce11::2")
        #expect(second.hostAddress6?.description == "fd00:ce11::5")
        #expect(second.cellAddress6?.description == "fd00:ce11::6")
        // Same index, same names, for both families.
        #expect(second.hostAddress.description == "10.200.0.5")
        #expect(second.hostInterface == "cellosu1")
        // An IPv4-only pool gives no IPv6 addresses.
        let v4Only = try #require(try Self.pool("10.200.0.0/24", nil).allocate())
        #expect(v4Only.hostAddress6 == nil && v4Only.cellAddress6 == nil)
    }

    /// A pool whose network bits reach into the low 64 bits: the slot offset lands
    /// below them and the last slot ends at the pool's end; then it is full.
    @Test func ipv6SlotArithmeticKeepsTheNetworkBitsAndStopsAtCapacity() throws {
        let pool = try Self.pool("10.200.0.0/16", "fd00:ce11:0:1::ff00/120")
        // The /120 bounds it: 256 addresses, 64 /126s.
        #expect(pool.capacity == 64)
        var slots: [UplinkSlot] = []
        while let slot = pool.allocate() { slots.append(slot) }
        #expect(slots.count == 64)
        #expect(slots.first?.hostAddress6?.description == "fd00:ce11:0:1::ff01")
        #expect(slots.last?.hostAddress6?.description == "fd00:ce11:0:1::fffd")
        #expect(slots.last?.cellAddress6?.description == "fd00:ce11:0:1::fffe")
        #expect(Set(slots.compactMap(\.cellAddress6)).count == 64)
        // A released slot comes back with the same addresses.
        pool.release(slots[17])
        #expect(pool.allocate() == slots[17])
        #expect(pool.allocate() == nil)
        // The smallest IPv6 pool, one /126, holds one slot.
        #expect(try Self.pool("10.200.0.0/24", "fd00::/126").capacity == 1)
    }

    @Test func ipv6PoolValidationNamesTheFlag() throws {
        let cases: [(String, String, PolicyError)] = [
            ("10.200.0.0/24", "10.201.0.0/24",
             .invalidField(field: "--uplink-pool6", value: "10.201.0.0/24", reason: "must be an IPv6 network of /64 to /126")),
            ("10.200.0.0/24", "fd00::/63",
             .invalidField(field: "--uplink-pool6", value: "fd00::/63", reason: "must be an IPv6 network of /64 to /126")),
            ("10.200.0.0/24", "fd00::/127",
             .invalidField(field: "--uplink-pool6", value: "fd00::/127", reason: "must be an IPv6 network of /64 to /126")),
            ("fd00::/64", "fd01::/64",
             .invalidField(field: "--uplink-pool", value: "fd00::/64", reason: "must be an IPv4 network of /8 to /30")),
        ]
        for (v4, v6, expected) in cases {
            #expect(throws: expected) { try Self.pool(v4, v6) }
        }
    }

    /// With IPv4-only uplinks an IPv6 allow rule could never connect: CreateCell
    /// refuses it, naming the rule, before anything exists (no slot is taken).
    /// The cell's own ::1 stays allowed.
    @Test func ipv4OnlyPoolRefusesAnIPv6RuleBeforeCreatingAnything() throws {
        let settings = UplinkSettings(pool: try Self.pool("10.200.0.0/30", nil))
        let policy = try EgressPolicy(allow: [
            try AllowRule(spec: "1,tcp,10.99.0.2,8080"), try AllowRule(spec: "4,tcp,::1,80"), try AllowRule(spec: "7,udp,2001:db8::/32,5000"),
        ])
        #expect(throws: CellError.ipv6RuleWithoutIPv6Uplink(cell: "v6", rule: "r7", destination: "2001:db8::/32")) {
            _ = try CellFactory.create(id: CellID("v6"), policy: policy, uplink: settings)
        }
        #expect(settings.pool.allocate()?.index == 0)
        let message = CellError.ipv6RuleWithoutIPv6Uplink(cell: "v6", rule: "r7", destination: "2001:db8::/32").description
        #expect(message.contains("r7") && message.contains("--uplink-pool6"))
    }

    /// The cell reaches an IPv4 and an IPv6 service over the same veth, each
    /// masqueraded to the uplink namespace's address; the denied IPv6 port is
    /// dropped by the cell's table; forwarding is on in the uplink netns only;
    /// destroy leaves no veth, no table, and the slot (both address pairs) free.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func dualStackCellReachesBothFamiliesThroughNATAndDestroyRemovesTheUplink() throws {
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let net = try lab.addNamespace("net")
            try lab.link(up, "10.96.0.1/24", net, "10.96.0.2/24")
            try lab.link(up, "fd00:96::1/64", net, "fd00:96::2/64")
            var listeners: [Int32] = []
            defer { listeners.forEach { _ = close($0) } }
            try lab.inside(net) {
                listeners.append(try NetProbe.tcpListener("10.96.0.2", 8080))
                for port: UInt16 in [8080, 9090] { listeners.append(try NetProbe.tcpListener("fd00:96::2", port)) }
            }
            let hostForwarding = try String(contentsOfFile: "/proc/sys/net/ipv6/conf/all/forwarding", encoding: .utf8)
            let settings = UplinkSettings(pool: try Self.pool("10.200.0.0/24", "fd00:ce11::/64"), namespacePath: up.path)
            let policy = try EgressPolicy(allow: [
                try AllowRule(spec: "1,tcp,10.96.0.2,8080"), try AllowRule(spec: "2,tcp,fd00:96::2,8080"),
            ])
            let cell = try CellFactory.create(id: CellID("dual"), policy: policy, uplink: settings)
            let slot = try #require(cell.uplink?.slot)
            let cellAddress6 = try #require(slot.cellAddress6)
            #expect(slot.hostAddress6?.description == "fd00:ce11::1")
            // Added without duplicate address detection: usable at once, never "tentative".
            // (The kernel's own link-local address on the veth still runs DAD.)
            let hostSide = try lab.run(in: up, ["ip", "-6", "-o", "addr", "show", "dev", slot.hostInterface]).stdout
                .split(separator: "\n").filter { $0.contains("inet6 fd00:ce11::1/126") }
            #expect(hostSide.count == 1 && hostSide.allSatisfy { $0.contains("nodad") && !$0.contains("tentative") }, "\(hostSide)")

            let results = try NetworkNamespace.run(in: cell.namespace) {
                // A fresh veth may still be bringing its carrier up: allow a retransmission.
                (v6: NetProbe.tcpConnect("fd00:96::2", 8080, timeoutMilliseconds: 3000),
                 v4: NetProbe.tcpConnect("10.96.0.2", 8080, timeoutMilliseconds: 3000),
                 denied: NetProbe.tcpConnect("fd00:96::2", 9090))
            }
            #expect(results.v6 == 0)
            #expect(results.v4 == 0)
            #expect(results.denied == ETIMEDOUT)
            let counters = try cell.readCounters()
            #expect((1...2).contains(counters["r2"]?.packets ?? 0))
            #expect((1...2).contains(counters["r1"]?.packets ?? 0))
            // The services saw the uplink namespace's addresses (masquerade), not the cell's.
            let peers = try lab.run(in: net, ["ss", "-Htn"]).stdout
            #expect(peers.contains("[fd00:96::2]:8080") && peers.contains("[fd00:96::1]:"), "\(peers)")
            #expect(peers.contains("10.96.0.2:8080") && peers.contains("10.96.0.1:"), "\(peers)")
            #expect(!peers.contains(cellAddress6.description) && !peers.contains(slot.cellAddress.description), "\(peers)")
            // Nothing reached the denied port.
            #expect(!peers.contains("]:9090"), "\(peers)")
            #expect(try lab.run(in: up, ["cat", "/proc/sys/net/ipv6/conf/all/forwarding"]).stdout == "1\n")
            #expect(try String(contentsOfFile: "/proc/sys/net/ipv6/conf/all/forwarding", encoding: .utf8) == hostForwarding)
            let table = try lab.run(in: up, ["nft", "list", "table", "inet", slot.natTable]).stdout
            #expect(table.contains("ip6 saddr \(cellAddress6) oifname != \"\(slot.hostInterface)\" masquerade"), "\(table)")

            try cell.destroy()
            #expect(!(try lab.run(in: up, ["ip", "-o", "link", "show", slot.hostInterface]).succeeded))
            #expect(!(try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains(slot.natTable)))
            #expect(!(try lab.run(in: up, ["ip", "-6", "-o", "addr", "show"]).stdout.contains("fd00:ce11")))
            // The slot is free again, with the same address pairs: the whole pool can be
            // handed out, this slot included (slots go round, so it is not the next one).
            let all = (0..<settings.pool.capacity).compactMap { _ in settings.pool.allocate() }
            #expect(all.count == settings.pool.capacity && all.contains(slot))
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func egressCellReachesAllowedServiceThroughNATAndDestroyRemovesTheUplink() throws {
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let net = try lab.addNamespace("net")
            try lab.link(up, "10.99.0.1/24", net, "10.99.0.2/24")
            var listeners: [Int32] = []
            defer { listeners.forEach { _ = close($0) } }
            try lab.inside(net) {
                for port: UInt16 in [8080, 9090] { listeners.append(try NetProbe.tcpListener("10.99.0.2", port)) }
            }
            let settings = UplinkSettings(
                pool: try UplinkPool(network: try IPNetwork(parsing: "10.200.0.0/24", field: "pool")), namespacePath: up.path)
            let policy = try EgressPolicy(allow: [try AllowRule(spec: "1,tcp,10.99.0.2,8080")])
            let cell = try CellFactory.create(id: CellID("egress"), policy: policy, uplink: settings)
            let slot = try #require(cell.uplink?.slot)

            let results = try NetworkNamespace.run(in: cell.namespace) {
                // A fresh veth may still be bringing its carrier up: allow a retransmission.
                (allowed: NetProbe.tcpConnect("10.99.0.2", 8080, timeoutMilliseconds: 3000),
                 denied: NetProbe.tcpConnect("10.99.0.2", 9090))
            }
            #expect(results.allowed == 0)
            #expect(results.denied == ETIMEDOUT)
            // One SYN, or two if the first met the veth before its carrier was up.
            #expect((1...2).contains(try cell.readCounters()["r1"]?.packets ?? 0))
            // The service saw the uplink namespace's address (masquerade), not the cell's.
            // (The probe closed its side, so the server's socket is in CLOSE-WAIT.)
            let peers = try lab.run(in: net, ["ss", "-Htn"]).stdout
            #expect(peers.contains("10.99.0.2:8080") && peers.contains("10.99.0.1:"), "\(peers)")
            #expect(!peers.contains(slot.cellAddress.description))
            #expect(try lab.run(in: up, ["ip", "-o", "link", "show", slot.hostInterface]).succeeded)
            #expect(try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains("table inet \(slot.natTable)"))

            try cell.destroy()
            #expect(!(try lab.run(in: up, ["ip", "-o", "link", "show", slot.hostInterface]).succeeded))
            #expect(!(try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains(slot.natTable)))
            // The slot is free again (the whole pool can be handed out, this slot included).
            let all = (0..<settings.pool.capacity).compactMap { _ in settings.pool.allocate() }
            #expect(all.count == settings.pool.capacity && all.contains(slot))
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func cellWithoutEgressRulesGetsNoUplink() throws {
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let settings = UplinkSettings(
                pool: try UplinkPool(network: try IPNetwork(parsing: "10.200.0.0/24", field: "pool")), namespacePath: up.path)
            let cell = try CellFactory.create(id: CellID("closed"), policy: try EgressPolicy(), uplink: settings)
            let hasUplink = cell.uplink != nil
            #expect(!hasUplink)
            let links = try lab.run(in: up, ["ip", "-o", "link", "show"]).stdout
            #expect(!links.contains("cellosu"))
            let cellLinks = try NetworkNamespace.run(in: cell.namespace) { if_nametoindex(UplinkSlot.cellInterface) }
            #expect(cellLinks == 0)
            try cell.destroy()
        }
    }
}

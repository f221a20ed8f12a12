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
        #expect(throws: PolicyError.self) { try UplinkPool(network: try IPNetwork(parsing: "fd00::/64", field: "pool")) }
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
            #expect(try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains("table ip \(slot.natTable)"))

            try cell.destroy()
            #expect(!(try lab.run(in: up, ["ip", "-o", "link", "show", slot.hostInterface]).succeeded))
            #expect(!(try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains(slot.natTable)))
            // The slot is free again.
            #expect(settings.pool.allocate() == slot)
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

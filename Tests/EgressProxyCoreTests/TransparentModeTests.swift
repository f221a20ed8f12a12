import CellosTestLab
import Foundation
import IPCWire
import Testing

/// Transparent mode in a lab namespace standing in for a cell with no uplink:
/// only `lo`, a default route onto `lo` with source 127.0.0.1 (so connect(2) to any address gets
/// as far as the nft output hook), and the nft redirect of the origin's ports to
/// the proxy's listener, which is bound inside the namespace while the proxy
/// itself runs in the host namespace. The workload connects to an address of
/// its choosing (192.0.2.99, unreachable from anywhere); the proxy reads the
/// name from the SNI or Host and connects to what dnsmasq says the name is.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct TransparentModeTests {
    static let bogusAddress = "192.0.2.99"

    func withCell(_ body: (Lab, LabNamespace, RunningHelper, OriginServers) throws -> Void) throws {
        try PrivilegedTest.requireRoot()
        let dnsmasq = try DnsmasqUpstream(address: "127.0.0.1")
        let origin = try OriginServers(names: ["a.allowed.test"])
        try withLab { lab in
            let cell = try lab.addNamespace("cell")
            // `src 127.0.0.1`: without it the source is 0.0.0.0 and the replies never come back.
            try Shell.check(["ip", "-n", cell.name, "route", "add", "default", "dev", "lo", "src", "127.0.0.1"])
            let port = try FreePort.udp()
            let ruleset = """
                table inet l7test {
                    chain output {
                        type nat hook output priority -100; policy accept;
                        meta l4proto tcp tcp dport { \(origin.tlsPort), \(origin.httpPort) } redirect to :\(port)
                    }
                }
                """
            let nft = try lab.run(in: cell, ["nft", "-f", "-"], input: ruleset)
            #expect(nft.succeeded, "\(nft.stderr)")
            var set = DescriptorSet()
            // Bound on a thread inside the cell namespace; the raw number crosses back (OwnedFD cannot).
            set.append(OwnedFD(adopting: try lab.inside(cell) { try Listener.bound(port).release() }))
            let proxy = try RunningHelper(
                binary: "cellos-egressproxy",
                ["--upstream", "127.0.0.1:\(dnsmasq.port)", "--allow", "a.allowed.test", "--port", String(origin.tlsPort),
                 "--port", String(origin.httpPort), "--cell-id", "c-transparent", "--stats-in-events"],
                names: ["l7-tcp"], descriptors: set)
            try body(lab, cell, proxy, origin)
            #expect(try proxy.stop() == 0)
        }
    }

    func curl(_ lab: Lab, _ cell: LabNamespace, _ url: String, name: String, port: UInt16) throws -> CommandResult {
        try lab.run(in: cell, ["curl", "-sS", "-k", "--max-time", "10", "--noproxy", "*",
                               "--resolve", "\(name):\(port):\(Self.bogusAddress)", url])
    }

    @Test func anAllowedSNISentToAnyAddressGoesToTheResolvedOne() throws {
        try withCell { lab, cell, proxy, origin in
            let result = try curl(lab, cell, "https://a.allowed.test:\(origin.tlsPort)/", name: "a.allowed.test", port: origin.tlsPort)
            #expect(result.status == 0, "\(result.stderr) \(proxy.stderr)")
            #expect(result.stdout.contains("s_server"))
            let event = try #require(try proxy.waitForEvents(1).first)
            #expect(event["mode"] as? String == "transparent")
            #expect(event["protocol"] as? String == "tls")
            #expect(event["original_dst"] as? String == "\(Self.bogusAddress):\(origin.tlsPort)")
            #expect(event["upstream"] as? String == "127.0.0.1:\(origin.tlsPort)")
            #expect(event["reason"] as? String == "allowed")
        }
    }

    @Test func plainHTTPIsNamedByHost() throws {
        try withCell { lab, cell, proxy, origin in
            let result = try curl(lab, cell, "http://a.allowed.test:\(origin.httpPort)/index.html", name: "a.allowed.test", port: origin.httpPort)
            #expect(result.stdout == "hello from the origin\n", "\(result.stderr) \(proxy.stderr)")
            let event = try #require(try proxy.waitForEvents(1).first)
            #expect(event["protocol"] as? String == "http")
            #expect(event["reason"] as? String == "allowed")
        }
    }

    @Test func aDeniedNameGetsAnAlertAndNoUpstream() throws {
        try withCell { lab, cell, proxy, origin in
            let result = try curl(lab, cell, "https://c.denied.test:\(origin.tlsPort)/", name: "c.denied.test", port: origin.tlsPort)
            #expect(result.status != 0)
            #expect(result.stderr.contains("unrecognized name"), "\(result.stderr)")
            let event = try #require(try proxy.waitForEvents(1).first)
            #expect(event["reason"] as? String == "denied_name")
            #expect(event["upstream"] is NSNull)
        }
    }
}


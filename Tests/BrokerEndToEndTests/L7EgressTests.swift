import CellosTestLab
import Foundation
import Testing

/// Name-based egress end to end: a cell with no IP egress rule (so no uplink)
/// reaches `allowed.cellos.test` over HTTPS and HTTP through cellos-egressproxy,
/// transparently and via HTTPS_PROXY, where openssl s_server and an HTTP server
/// answer on 192.0.2.80 in the lab's internet namespace; everything else is
/// refused with its reason in the trail.
@Suite(.serialized) struct L7EgressTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func namesDecideAndTheTrailAgreesWithTheCounters() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let origin = try OriginServers(
                names: ["allowed.cellos.test", "other.cellos.test"], host: "192.0.2.80", prefix: ["ip", "netns", "exec", cell.internet.name])
            let tls = origin.tlsPort
            let http = origin.httpPort
            let script = """
                curl -sk --noproxy '*' --max-time 5 https://allowed.cellos.test:\(tls)/ | grep -c s_server; echo "transparent_https=${PIPESTATUS[0]}"
                curl -s --noproxy '*' --max-time 5 http://allowed.cellos.test:\(http)/index.html; echo "transparent_http=$?"
                curl -sk --max-time 5 https://allowed.cellos.test:\(tls)/ | grep -c s_server; echo "explicit_https=${PIPESTATUS[0]}"
                curl -sk --noproxy '*' --max-time 5 --resolve allowed.cellos.test:\(tls):198.51.100.9 https://allowed.cellos.test:\(tls)/ | grep -c s_server; echo "wrong_ip=${PIPESTATUS[0]}"
                curl -sk --noproxy '*' --max-time 5 --resolve other.cellos.test:\(tls):192.0.2.80 https://other.cellos.test:\(tls)/; echo "denied_name=$?"
                curl -sk --max-time 5 https://allowed.cellos.test:8443/; echo "denied_port=$?"
                openssl s_client -connect 192.0.2.80:\(tls) -noservername </dev/null >/dev/null 2>&1; echo "no_sni=$?"
                openssl s_client -proxy 127.0.0.1:15001 -connect allowed.cellos.test:\(tls) -servername other.cellos.test </dev/null >/dev/null 2>&1; echo "mismatch=$?"
                timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.80/\(tls); sleep 2'; echo "silent=done"
                """
            let run = try cell.broker([
                "--spec", try cell.specFile(
                    id: "e2e-l7", argv: ["/bin/bash", "-c", script], egress: "[]",
                    extra: #""egress_names": ["allowed.cellos.test"], "egress_ports": [\#(tls), \#(http)], "egress_mode": "both""#),
            ], events: "l7")
            let out = run.result.stdout
            #expect(run.result.status == 0, "\(run.result.stderr)")
            for line in ["transparent_https=0", "transparent_http=0", "explicit_https=0", "wrong_ip=0"] {
                #expect(out.contains(line + "\n"), "\(line): \(out)")
            }
            #expect(out.contains("hello from the origin"), "\(out)")
            for line in ["denied_name=0", "denied_port=0", "no_sni=0", "mismatch=0"] { #expect(!out.contains(line + "\n"), "\(out)") }

            let decisions = run.data(ofType: ".l7_egress_decision")
            func reasons(_ mode: String) -> [String] { decisions.filter { $0["mode"] as? String == mode }.compactMap { $0["reason"] as? String } }
            #expect(reasons("transparent").filter { $0 == "allowed" }.count == 3, "\(decisions)")
            #expect(reasons("explicit").contains("allowed"), "\(decisions)")
            for reason in ["denied_name", "no_sni"] { #expect(reasons("transparent").contains(reason), "\(reason): \(decisions)") }
            for reason in ["denied_port", "name_mismatch"] { #expect(reasons("explicit").contains(reason), "\(reason): \(decisions)") }
            // The client that connected and sent nothing before closing.
            #expect(decisions.contains { $0["reason"] as? String == "malformed" && $0["detail"] as? String == "client_closed_early" }, "\(decisions)")
            let wrongIP = try #require(decisions.first { $0["original_dst"] as? String == "198.51.100.9:\(tls)" }, "\(decisions)")
            #expect(wrongIP["upstream"] as? String == "192.0.2.80:\(tls)")
            #expect(decisions.allSatisfy { $0["cell_id"] as? String == "e2e-l7" })

            // A nat rule sees only a connection's first packet: one count per transparent connection.
            let counters = Dictionary(run.data(ofType: ".nft_counter").map { ($0["rule"] as? String ?? "", Int("\($0["packets"] ?? "")") ?? -1) }, uniquingKeysWith: { a, _ in a })
            #expect(counters["l7-redirect"] == decisions.filter { $0["mode"] as? String == "transparent" }.count, "\(counters)")
            #expect(counters["r1"] == nil)
            let stats = run.data(ofType: ".helper.v1.stats").first { $0["type"] as? String == "egressproxy_stats" }
            #expect(stats?["connections"] as? Int == decisions.count, "\(String(describing: stats))")
            #expect(run.data(ofType: ".destroyed").first?["reason"] as? String == "completed")
            // The broker has awaited its proxy: no process of this cell's is left.
            let left = try Shell.run(["pgrep", "-f", "cellos-egressproxy.*--cell-id e2e-l7"])
            #expect(left.stdout.isEmpty, "\(left.stdout)")
            let summary = try Shell.run([try BuiltProducts.path(of: "cellos-broker"), "summary", "\(cell.directory)/l7.jsonl"])
            #expect(summary.stdout.contains("Name-based egress (L7):\n  allowed.cellos.test:\(tls) transparent tls: allow (allowed) -> 192.0.2.80:\(tls)"), "\(summary.stdout)")
        }
    }

    /// IPv6 transparent mode: the workload connects to an IPv6 address of its
    /// choosing (2001:db8::80, which nothing in the lab has); netnsd's
    /// `l7-redirect-v6` sends it to the `[::1]` listener (`l7-tcp6`), the proxy
    /// reads IP6T_SO_ORIGINAL_DST, relays the allowed name to what the resolver says
    /// (192.0.2.80) and refuses the other name with its event.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func ipv6ConnectionsAreRedirectedToo() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let origin = try OriginServers(
                names: ["allowed.cellos.test", "other.cellos.test"], host: "192.0.2.80", prefix: ["ip", "netns", "exec", cell.internet.name])
            let tls = origin.tlsPort
            let script = """
                curl -sk --noproxy '*' --max-time 5 --resolve 'allowed.cellos.test:\(tls):[2001:db8::80]' https://allowed.cellos.test:\(tls)/ | grep -c s_server; echo "v6_allowed=${PIPESTATUS[0]}"
                curl -sk --noproxy '*' --max-time 5 --resolve 'other.cellos.test:\(tls):[2001:db8::80]' https://other.cellos.test:\(tls)/; echo "v6_denied=$?"
                """
            let run = try cell.broker([
                "--spec", try cell.specFile(
                    id: "e2e-l7v6", argv: ["/bin/bash", "-c", script], egress: "[]",
                    extra: #""egress_names": ["allowed.cellos.test"], "egress_ports": [\#(tls)], "egress_mode": "transparent""#),
            ], events: "l7v6")
            let out = run.result.stdout
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(out.contains("v6_allowed=0\n"), "\(out)")
            #expect(!out.contains("v6_denied=0\n"), "\(out)")

            let decisions = run.data(ofType: ".l7_egress_decision")
            let allowed = try #require(decisions.first { $0["name"] as? String == "allowed.cellos.test" }, "\(decisions)")
            #expect(allowed["reason"] as? String == "allowed")
            #expect(allowed["mode"] as? String == "transparent")
            #expect(allowed["original_dst"] as? String == "[2001:db8::80]:\(tls)", "\(allowed)")
            #expect((allowed["client"] as? String)?.hasPrefix("[::1]:") == true, "\(allowed)")
            #expect(allowed["upstream"] as? String == "192.0.2.80:\(tls)")
            let denied = try #require(decisions.first { $0["name"] as? String == "other.cellos.test" }, "\(decisions)")
            #expect(denied["reason"] as? String == "denied_name")
            #expect(denied["original_dst"] as? String == "[2001:db8::80]:\(tls)", "\(denied)")
            #expect(denied["upstream"] is NSNull)

            let counters = Dictionary(run.data(ofType: ".nft_counter").map { ($0["rule"] as? String ?? "", Int("\($0["packets"] ?? "")") ?? -1) }, uniquingKeysWith: { a, _ in a })
            #expect(counters["l7-redirect-v6"] == 2, "\(counters)")
            #expect(counters["l7v6"] ?? 0 >= 2, "\(counters)")
            #expect(counters["l7-redirect"] == 0, "\(counters)")
        }
    }
}

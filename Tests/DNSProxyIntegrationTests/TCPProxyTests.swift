import CellosTestLab
import Foundation
import IPCWire
import Testing

/// DNS over TCP through cellos-dnsproxy (RFC 7766): pipelining, malformed input,
/// idle timeout, the connection cap, and the TC → TCP retry reaching the upstream
/// over TCP.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct TCPProxyTests {
    func standalone(upstream: UInt16, _ extra: [String] = []) throws -> (RunningProxy, UInt16) {
        try PrivilegedTest.requireRoot()
        let port = try FreePort.udp()
        let proxy = try RunningProxy(["--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:\(upstream)",
                                      "--allow", "*.allowed.test"] + extra)
        return (proxy, port)
    }

    @Test func kdigOverTCPGetsAllowedAndRefusedAnswers() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(upstream: dnsmasq.port)
        let allowed = try Kdig.query("www.allowed.test", port: port, tcp: true)
        #expect(allowed.status == "NOERROR", "\(allowed.output)")
        #expect(allowed.answers.contains { $0.hasSuffix("192.0.2.10") })
        #expect(try Kdig.query("denied.test", port: port, tcp: true).status == "REFUSED")
        #expect(try proxy.stop() == 0)
        let events = try proxy.events()
        #expect(events.map { $0["transport"] as? String } == ["tcp", "tcp"])
        #expect(events.map { $0["reason"] as? String } == ["allowed", "denied_name"])
    }

    @Test func pipelinedQueriesOnOneConnectionAreAllAnswered() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(upstream: dnsmasq.port)
        let client = try TestTCPClient(port: port)
        let queries = [
            Wire.query(id: 1, name: "a.allowed.test"), Wire.query(id: 2, name: "denied.test"),
            Wire.query(id: 3, name: "b.allowed.test"), Wire.query(id: 4, name: "c.allowed.test", type: 16),
        ]
        // All in one write: the proxy must split the stream itself.
        client.sendRaw(queries.flatMap(TestTCPClient.framed))
        var rcodes: [UInt16: UInt8] = [:]
        for _ in queries {
            let answer = try #require(client.receive())
            rcodes[Wire.u16(answer, 0)] = answer[3] & 0x0F
        }
        #expect(rcodes == [1: 0, 2: 5, 3: 0, 4: 5])
        // A malformed message closes the connection without an answer.
        client.sendRaw(TestTCPClient.framed(Wire.query(id: 5, name: "a.allowed.test", qdcount: 0)))
        #expect(client.closedByPeer(milliseconds: 2000))
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        #expect(stats["queries_total"] == 5)
        #expect(stats["malformed"] == 1)
    }

    @Test func truncatedUDPAnswerIsRetriedOverTCPUpToTheUpstream() throws {
        let upstream = try TruncatingUpstream()
        defer { upstream.stop() }
        let (proxy, port) = try standalone(upstream: upstream.port)
        // kdig retries over TCP when the UDP answer has TC set.
        let answer = try Kdig.query("big.allowed.test", port: port)
        #expect(answer.status == "NOERROR", "\(answer.output)")
        #expect(answer.answers.contains { $0.hasSuffix("192.0.2.77") }, "\(answer.output)")
        #expect(upstream.udpQueries == 1)
        #expect(upstream.tcpQueries == 1)
        #expect(try proxy.stop() == 0)
        let events = try proxy.events()
        #expect(events.map { $0["transport"] as? String } == ["udp", "tcp"])
    }

    /// Nothing listens for TCP on the upstream's port: the TCP query fails upstream.
    @Test func refusedUpstreamConnectionGivesServfail() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        let answer = try Kdig.query("www.allowed.test", port: port, tcp: true)
        #expect(answer.status == "SERVFAIL", "\(answer.output)")
        #expect(try proxy.stop() == 0)
        let event = try #require(try proxy.events().first)
        #expect(event["reason"] as? String == "upstream_failure")
        #expect(event["decision"] as? String == "allow")
        #expect(event["rcode"] as? String == "SERVFAIL")
        #expect(try proxy.lastStats()["upstream_failures"] == 1)
    }

    @Test func idleConnectionIsClosed() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port, ["--tcp-idle-timeout", "200ms"])
        let idle = try TestTCPClient(port: port)
        #expect(idle.closedByPeer(milliseconds: 3000))
        #expect(try proxy.stop() == 0)
    }

    @Test func connectionCapAndStalledClientsDoNotBlockOthers() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(upstream: dnsmasq.port, ["--tcp-max-connections", "2"])
        // A client that sends half a length prefix and stalls.
        let stalled = try TestTCPClient(port: port)
        stalled.sendRaw([0])
        let working = try TestTCPClient(port: port)
        // Over the cap: closed at once.
        let rejected = try TestTCPClient(port: port)
        #expect(rejected.closedByPeer(milliseconds: 2000))
        working.sendRaw(TestTCPClient.framed(Wire.query(id: 9, name: "x.allowed.test")))
        let answer = try #require(working.receive())
        #expect(Wire.u16(answer, 0) == 9)
        #expect(Array(answer.suffix(4)) == [192, 0, 2, 10])
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        #expect(stats["tcp_connections"] == 2)
        #expect(stats["tcp_connections_rejected"] == 1)
    }
}

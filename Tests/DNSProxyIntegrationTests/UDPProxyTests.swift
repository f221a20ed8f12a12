import CellosTestLab
import Foundation
import IPCWire
import Testing

/// cellos-dnsproxy as a process, driven over UDP by kdig and by raw sockets, in
/// front of a real dnsmasq or of a socket the test scripts as the upstream.
/// Privileged: the proxy runs as uid 65534 without capabilities (setpriv needs root).
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct UDPProxyTests {
    static let allow = ["--allow", "allowed.test", "--allow", "*.allowed.test", "--cell-id", "cell-it"]

    func standalone(upstream: UInt16, _ extra: [String] = []) throws -> (RunningProxy, UInt16) {
        try PrivilegedTest.requireRoot()
        let port = try FreePort.udp()
        let proxy = try RunningProxy(["--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:\(upstream)"] + Self.allow + extra)
        return (proxy, port)
    }

    @Test func allowedNameIsAnsweredByTheUpstream() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(upstream: dnsmasq.port)
        // Serving confined: no capabilities, no_new_privs, a seccomp filter.
        let status = try String(contentsOfFile: "/proc/\(proxy.pid)/status", encoding: .utf8)
        for line in ["CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"] {
            #expect(status.contains(line), "\(line)")
        }
        let answer = try Kdig.query("www.allowed.test", port: port, edns: true)
        #expect(answer.status == "NOERROR", "\(answer.output)")
        #expect(answer.answers.contains { $0.hasSuffix("192.0.2.10") }, "\(answer.output)")
        // EDNS0 passes through: kdig sent an OPT record and dnsmasq's answer carries one.
        #expect(answer.output.contains("EDNS PSEUDOSECTION"), "\(answer.output)")
        let apex = try Kdig.query("allowed.test", port: port)
        #expect(apex.status == "NOERROR", "\(apex.output)")
        #expect(try proxy.stop() == 0)

        let events = try proxy.events()
        #expect(events.count == 2)
        let first = try #require(events.first)
        #expect(first["qname"] as? String == "www.allowed.test")
        #expect(first["qtype"] as? String == "A")
        #expect(first["decision"] as? String == "allow")
        #expect(first["reason"] as? String == "allowed")
        #expect(first["rcode"] as? String == "NOERROR")
        #expect(first["cell_id"] as? String == "cell-it")
        #expect(first["transport"] as? String == "udp")
        #expect((first["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(first["upstream_latency_us"] is Int)
        #expect(events.last?["qname"] as? String == "allowed.test")
        let stats = try proxy.lastStats()
        #expect(stats["queries_total"] == 2)
        #expect(stats["allowed"] == 2)
        #expect(stats["events_written"] == 2)
        #expect(dnsmasq.log.lowercased().contains("www.allowed.test"))
    }

    /// kdig lower-cases names, so the client's 0x20 spelling is checked with a raw socket.
    @Test func clientsLetterCaseComesBackInTheAnswer() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(upstream: dnsmasq.port)
        let client = try TestUDPSocket()
        let query = Wire.query(id: 0x2020, name: "WwW.AlLoWeD.TeSt")
        client.send(query, toPort: port)
        let answer = try #require(client.receive())
        #expect(Wire.u16(answer.bytes, 0) == 0x2020)
        #expect(answer.bytes[3] & 0x0F == 0, "NOERROR")
        #expect(Array(answer.bytes[12 ..< query.count]) == Array(query[12...]))
        #expect(Array(answer.bytes.suffix(4)) == [192, 0, 2, 10])
        // The same, denied: the REFUSED answer echoes the spelling too.
        let denied = Wire.query(id: 0x2021, name: "DeNiEd.TeSt")
        client.send(denied, toPort: port)
        let refused = try #require(client.receive())
        #expect(refused.bytes[3] & 0x0F == 5, "REFUSED")
        #expect(Array(refused.bytes[12...]) == Array(denied[12...]))
        #expect(try proxy.stop() == 0)
    }

    @Test func deniedNameIsRefusedWithoutAskingTheUpstream() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        let answer = try Kdig.query("denied.test", port: port)
        #expect(answer.status == "REFUSED", "\(answer.output)")
        // The question is echoed, and nothing reached the upstream.
        #expect(answer.questionLine?.contains("denied.test.") == true)
        let apexOfWildcardOnly = try Kdig.query("notallowed.test", port: port)
        #expect(apexOfWildcardOnly.status == "REFUSED")
        #expect(upstream.receive(milliseconds: 200) == nil)
        #expect(try proxy.stop() == 0)
        let events = try proxy.events()
        #expect(events.map { $0["reason"] as? String } == ["denied_name", "denied_name"])
        #expect(events.first?["decision"] as? String == "deny")
        #expect(events.first?["rcode"] as? String == "REFUSED")
        #expect(events.first?["upstream_latency_us"] is NSNull)
        #expect(try proxy.lastStats()["denied_name"] == 2)
    }

    @Test func deniedTypeIsRefusedWithoutAskingTheUpstream() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        let answer = try Kdig.query("www.allowed.test", type: "TXT", port: port)
        #expect(answer.status == "REFUSED", "\(answer.output)")
        #expect(upstream.receive(milliseconds: 200) == nil)
        #expect(try proxy.stop() == 0)
        let event = try #require(try proxy.events().first)
        #expect(event["reason"] as? String == "denied_qtype")
        #expect(event["qtype"] as? String == "TXT")
        #expect(try proxy.lastStats()["denied_qtype"] == 1)
    }

    @Test func malformedQueriesGetNoAnswerButAnEvent() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        let client = try TestUDPSocket()
        let header = Wire.query(id: 7, name: "www.allowed.test")
        let pointer = Array(header[0 ..< 12]) + [3, 0x77, 0x77, 0x77, 0xC0, 12, 0, 1, 0, 1]
        let longLabel = Array(header[0 ..< 12]) + [64] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1]
        let chaos = Array(header.dropLast(2)) + [0, 3]
        let malformed: [[UInt8]] = [
            [1, 2, 3],  // shorter than a header
            Wire.query(id: 7, name: "www.allowed.test", qdcount: 2),
            pointer, longLabel, chaos,
            Wire.query(id: 7, name: "www.allowed.test", flags: 0x2100),  // opcode 4 (NOTIFY)
            header + Array(repeating: 0, count: 5000),  // larger than any query
        ]
        for datagram in malformed { client.send(datagram, toPort: port) }
        #expect(client.receive(milliseconds: 300) == nil)
        #expect(upstream.receive(milliseconds: 10) == nil)
        let events = try proxy.waitForEvents(malformed.count)
        #expect(try proxy.stop() == 0)
        #expect(events.count == malformed.count)
        #expect(events.allSatisfy { $0["reason"] as? String == "malformed_query" && $0["rcode"] is NSNull })
        #expect(events.compactMap { $0["detail"] as? String } == [
            "shorter_than_header", "qdcount_not_one", "compression_pointer", "label_too_long", "class_not_in",
            "opcode_not_query", "too_large",
        ])
        #expect(try proxy.lastStats()["malformed"] == malformed.count)
    }

    @Test func silentUpstreamGivesServfailAfterTheTimeout() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port, ["--upstream-timeout", "300ms"])
        let answer = try Kdig.query("www.allowed.test", port: port, timeout: 3)
        #expect(answer.status == "SERVFAIL", "\(answer.output)")
        // The query did reach the upstream, under the proxy's own ID.
        let forwarded = try #require(upstream.receive(milliseconds: 100))
        #expect(forwarded.bytes.count > 12)
        #expect(try proxy.stop() == 0)
        let event = try #require(try proxy.events().first)
        #expect(event["reason"] as? String == "upstream_timeout")
        #expect(event["decision"] as? String == "allow")
        #expect(event["rcode"] as? String == "SERVFAIL")
        #expect(try proxy.lastStats()["upstream_timeouts"] == 1)
    }

    @Test func spoofedOrMismatchedAnswersAreDroppedAndCounted() throws {
        let upstream = try TestUDPSocket()
        let impostor = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        let client = try TestUDPSocket()
        client.send(Wire.query(id: 0x5151, name: "www.allowed.test"), toPort: port)
        let forwarded = try #require(upstream.receive())
        let id = Wire.u16(forwarded.bytes, 0)
        let question = forwarded.bytes[12...]
        let otherQuestion = Wire.query(id: 0, name: "www.allowed.tesu")[12...]
        // Wrong ID, wrong source, other question, then the genuine answer.
        upstream.send(Wire.answer(id: id &+ 1, question: question, address: [6, 6, 6, 6]), toPort: forwarded.port)
        impostor.send(Wire.answer(id: id, question: question, address: [6, 6, 6, 6]), toPort: forwarded.port)
        upstream.send(Wire.answer(id: id, question: otherQuestion, address: [6, 6, 6, 6]), toPort: forwarded.port)
        usleep(100_000)
        upstream.send(Wire.answer(id: id, question: question, address: [192, 0, 2, 99]), toPort: forwarded.port)
        let answer = try #require(client.receive())
        #expect(Wire.u16(answer.bytes, 0) == 0x5151)
        #expect(Array(answer.bytes.suffix(4)) == [192, 0, 2, 99])
        #expect(client.receive(milliseconds: 100) == nil)
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        #expect(stats["upstream_answers_dropped"] == 3)
        #expect(stats["allowed"] == 1)
    }

    @Test func truncatedAnswerIsRelayedAsIs() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        let client = try TestUDPSocket()
        client.send(Wire.query(id: 0x0A0A, name: "big.allowed.test", type: 28), toPort: port)
        let forwarded = try #require(upstream.receive())
        var truncated = Array(forwarded.bytes)
        truncated[2] |= 0x82  // QR + TC
        truncated[3] = 0x80
        upstream.send(truncated, toPort: forwarded.port)
        let answer = try #require(client.receive())
        #expect(answer.bytes[2] & 0x02 != 0, "TC bit kept")
        #expect(Array(answer.bytes[2...]) == Array(truncated[2...]))
        #expect(Wire.u16(answer.bytes, 0) == 0x0A0A)
        #expect(try proxy.stop() == 0)
    }

    @Test func sigusr1PrintsStatsWhileRunning() throws {
        let upstream = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: upstream.port)
        _ = try Kdig.query("denied.test", port: port)
        proxy.signal(SIGUSR1)
        var stats: [String: Int] = [:]
        for _ in 0 ..< 100 where stats.isEmpty {
            stats = (try? proxy.lastStats()) ?? [:]
            usleep(10_000)
        }
        #expect(stats["queries_total"] == 1)
        #expect(stats["denied_name"] == 1)
        #expect(try proxy.stop() == 0)
        #expect(proxy.stderr.split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"dnsproxy_stats\"") }.count == 2)
    }
}

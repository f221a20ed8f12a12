import CellosTestLab
import Foundation
import IPCWire
import Testing

/// cellos-dnsproxy under floods and storms: everything degrades to SERVFAIL or a
/// closed connection, memory stays bounded, and the proxy keeps serving.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct LoadTests {
    func standalone(upstream: UInt16, _ extra: [String] = [], wrapper: [String] = []) throws -> (RunningProxy, UInt16) {
        try PrivilegedTest.requireRoot()
        let port = try FreePort.udp()
        let proxy = try RunningProxy(["--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:\(upstream)",
                                      "--allow", "*.allowed.test"] + extra, wrapper: wrapper)
        return (proxy, port)
    }

    /// Peak resident set (VmHWM) of `pid` in KiB.
    static func peakResidentKilobytes(_ pid: pid_t) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""))
    }

    /// A UDP query answered NOERROR by dnsmasq through the proxy (raw socket: no kdig process under load).
    static func udpAnswer(_ client: TestUDPSocket, port: UInt16, id: UInt16) -> UInt8? {
        client.send(Wire.query(id: id, name: "u\(id).allowed.test"), toPort: port)
        while let answer = client.receive(milliseconds: 2000) {
            if Wire.u16(answer.bytes, 0) == id { return answer.bytes[3] & 0x0F }
        }
        return nil
    }

    static func silentTCPListener(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw HarnessError("silent TCP listener on \(port): errno \(errno)")
        }
        return fd
    }

    @Test func tcpConnectionsBeyondTheCapAreClosedWhileUDPStillAnswers() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(upstream: dnsmasq.port, ["--tcp-max-connections", "4"])
        var held: [TestTCPClient] = []
        for _ in 0 ..< 4 { held.append(try TestTCPClient(port: port)) }
        // Each held connection is accepted (one round trip, a name the proxy refuses
        // itself: dnsmasq --no-daemon serves one TCP connection at a time), so the cap is full.
        for (index, client) in held.enumerated() {
            client.sendRaw(TestTCPClient.framed(Wire.query(id: UInt16(100 + index), name: "t\(index).denied.test")))
            #expect(client.receive().map { Wire.u16($0, 0) } == UInt16(100 + index))
        }
        let storm = try (0 ..< 40).map { _ in try TestTCPClient(port: port) }
        let udp = try TestUDPSocket()
        #expect(Self.udpAnswer(udp, port: port, id: 7) == 0, "a UDP query went unanswered during the storm")
        let closed = storm.filter { $0.closedByPeer(milliseconds: 2000) }.count
        #expect(closed == storm.count)
        #expect(kill(proxy.pid, 0) == 0)
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        #expect(stats["tcp_connections"] == 4)
        #expect(stats["tcp_connections_rejected"] == 40)
    }

    /// 20 000 UDP queries at an upstream that never answers: each answered one is
    /// SERVFAIL (table full, or timed out), the peak RSS stays far below a
    /// generous bound, and the proxy answers afterwards.
    @Test func queryFloodToASilentUpstreamEndsAsServfailWithBoundedMemory() throws {
        let silent = try TestUDPSocket()
        let (proxy, port) = try standalone(upstream: silent.port, ["--upstream-timeout", "200ms", "--max-inflight", "256"])
        let client = try TestUDPSocket()
        var rcodes: [UInt8: Int] = [:]
        func drain(milliseconds: Int32) {
            while let answer = client.receive(milliseconds: milliseconds) { rcodes[answer.bytes[3] & 0x0F, default: 0] += 1 }
        }
        for round in 0 ..< 40 {
            for index in 0 ..< 500 {
                let id = UInt16(truncatingIfNeeded: round * 500 + index)
                client.send(Wire.query(id: id, name: "f\(index).allowed.test"), toPort: port)
            }
            drain(milliseconds: 0)
        }
        drain(milliseconds: 1000)
        #expect(rcodes.keys.sorted() == [2], "rcodes \(rcodes)")
        #expect((rcodes[2] ?? 0) > 0)
        let peak = try Self.peakResidentKilobytes(proxy.pid)
        #expect(peak < 96 * 1024, "peak RSS \(peak) KiB")
        // Still serving: one more query, its SERVFAIL after the timeout.
        client.send(Wire.query(id: 4242, name: "last.allowed.test"), toPort: port)
        var last: UInt8?
        while last == nil, let answer = client.receive(milliseconds: 3000) {
            if Wire.u16(answer.bytes, 0) == 4242 { last = answer.bytes[3] & 0x0F }
        }
        #expect(last == 2)
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        #expect((stats["upstream_failures"] ?? 0) + (stats["upstream_timeouts"] ?? 0) == stats["allowed"])
        #expect((stats["upstream_failures"] ?? 0) > 0, "the 256-entry table never filled: \(stats)")
    }

    /// One connection pipelining 100 queries at a silent upstream holds at most
    /// `--tcp-max-inflight` of the shared table; the rest are SERVFAIL at once.
    @Test func pipeliningClientGetsOnlyItsShareOfTheInflightTable() throws {
        let silent = try TestUDPSocket()
        // The upstream's TCP side accepts (in the kernel's backlog) and never answers.
        let listener = try Self.silentTCPListener(port: silent.port)
        defer { close(listener) }
        let (proxy, port) = try standalone(upstream: silent.port, ["--upstream-timeout", "300ms", "--tcp-max-inflight", "8"])
        let client = try TestTCPClient(port: port)
        client.sendRaw((0 ..< 100).flatMap { TestTCPClient.framed(Wire.query(id: UInt16($0), name: "p\($0).allowed.test")) })
        var answered = Set<UInt16>()
        var rcodes = Set<UInt8>()
        while answered.count < 100, let answer = client.receive(milliseconds: 3000) {
            answered.insert(Wire.u16(answer, 0))
            rcodes.insert(answer[3] & 0x0F)
        }
        #expect(answered.count == 100)
        #expect(rcodes == [2])
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        #expect(stats["tcp_inflight_refused"] == 92)
        #expect(stats["upstream_timeouts"] == 8)
    }

    /// Under `RLIMIT_NOFILE` 24, more TCP clients than descriptors: accept fails
    /// with EMFILE and the proxy pauses accepting instead of spinning on the
    /// readable listener (a spin would count hundreds of thousands of failures),
    /// UDP still answers, and TCP is served again once the clients go.
    @Test func outOfDescriptorsPausesAcceptingAndRecovers() throws {
        let dnsmasq = try DnsmasqUpstream()
        let (proxy, port) = try standalone(
            upstream: dnsmasq.port, ["--tcp-max-connections", "64"], wrapper: ["/usr/bin/prlimit", "--nofile=24:24", "--"])
        var storm = try (0 ..< 30).map { _ in try TestTCPClient(port: port) }
        let udp = try TestUDPSocket()
        #expect(Self.udpAnswer(udp, port: port, id: 11) == 0)
        usleep(500_000)
        #expect(Self.udpAnswer(udp, port: port, id: 12) == 0)
        storm.removeAll()
        var served = false
        for attempt in 0 ..< 50 where !served {
            let client = try TestTCPClient(port: port)
            client.sendRaw(TestTCPClient.framed(Wire.query(id: UInt16(500 + attempt), name: "r.allowed.test")))
            served = client.receive(milliseconds: 1000).map { Wire.u16($0, 0) } == UInt16(500 + attempt)
        }
        #expect(served, "TCP was not served again after the clients left")
        #expect(try proxy.stop() == 0)
        let stats = try proxy.lastStats()
        let failures = stats["tcp_accept_failures"] ?? 0
        #expect(failures > 0, "accept never ran out of descriptors: \(stats)")
        #expect(failures < 1000, "accept failed \(failures) times: a busy loop")
    }
}

import CellosTestLab
import Foundation
import IPCWire
import Testing

/// The way the broker runs the proxy: sockets bound by someone else, handed over
/// as dns-udp/dns-tcp, readiness on the notify pipe; and the capability refusal.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct ActivationTests {
    /// Binds UDP and TCP on one free loopback port, as netnsd would in the cell.
    struct BoundSockets: ~Copyable {
        var set: DescriptorSet
        let port: UInt16
    }

    func boundSockets() throws -> BoundSockets {
        let port = try FreePort.udp()
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        var set = DescriptorSet()
        for type in [SOCK_DGRAM, SOCK_STREAM] {
            let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
            set.append(OwnedFD(adopting: fd))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw HarnessError("bind: errno \(errno)") }
            if type == SOCK_STREAM { listen(fd, 16) }
        }
        return BoundSockets(set: set, port: port)
    }

    @Test func inheritedSocketsAreServedAfterReadiness() throws {
        try PrivilegedTest.requireRoot()
        let dnsmasq = try DnsmasqUpstream()
        let sockets = try boundSockets()
        let port = sockets.port
        let proxy = try RunningProxy(
            ["--upstream", "127.0.0.1:\(dnsmasq.port)", "--allow", "*.allowed.test", "--cell-id", "inherited"],
            names: ["dns-udp", "dns-tcp"], descriptors: sockets.set)
        // The parent may close its copies: the proxy holds its own.
        _ = consume sockets
        let answer = try Kdig.query("a.allowed.test", port: port)
        #expect(answer.status == "NOERROR", "\(answer.output)")
        #expect(answer.answers.contains { $0.hasSuffix("192.0.2.10") })
        #expect(try Kdig.query("example.com", port: port).status == "REFUSED")
        #expect(try proxy.stop() == 0)
        let events = try proxy.events()
        #expect(events.map { $0["reason"] as? String } == ["allowed", "denied_name"])
        #expect(events.allSatisfy { $0["cell_id"] as? String == "inherited" })
    }

    @Test func refusesToStartWithCapabilities() throws {
        try PrivilegedTest.requireRoot()
        let sockets = try boundSockets()
        do {
            _ = try RunningProxy(["--upstream", "127.0.0.1:53", "--allow", "a.test"],
                                 names: ["dns-udp", "dns-tcp"], descriptors: sockets.set, asNobody: false)
            Issue.record("the proxy reported ready while holding capabilities")
        } catch let error as HarnessError {
            #expect(error.description.contains("refusing to run with capabilities"), "\(error)")
        }
    }

    @Test func allowCapabilitiesOverridesTheRefusal() throws {
        try PrivilegedTest.requireRoot()
        let sockets = try boundSockets()
        let port = sockets.port
        let proxy = try RunningProxy(["--upstream", "127.0.0.1:53", "--allow", "a.test", "--allow-capabilities"],
                                     names: ["dns-udp", "dns-tcp"], descriptors: sockets.set, asNobody: false)
        #expect(try Kdig.query("b.test", port: port).status == "REFUSED")
        #expect(try proxy.stop() == 0)
    }

    @Test func badFlagIsReportedBeforeReadiness() throws {
        try PrivilegedTest.requireRoot()
        let sockets = try boundSockets()
        do {
            _ = try RunningProxy(["--upstream", "127.0.0.1:53", "--allow", "bad name"], names: ["dns-udp", "dns-tcp"], descriptors: sockets.set)
            Issue.record("the proxy started with an invalid --allow")
        } catch let error as HarnessError {
            #expect(error.description.contains("--allow: 'bad name'"), "\(error)")
        }
    }
}

import CellosTestLab
import Foundation
import IPCWire
@testable import NetnsdCore
import NetworkNamespaces
import Testing

@Suite(.serialized) struct L7PolicyTests {
    static func policy(mode: L7Mode = .both) throws -> EgressPolicy {
        try EgressPolicy(l7: try L7Egress(names: ["a.example.com", "*.example.org:8443"], ports: [443, 80], mode: mode))
    }

    @Test func theSectionIsValidatedFieldByField() throws {
        #expect(throws: PolicyError.invalidField(field: "l7.names", value: "0 names", reason: "1-256 names")) {
            try L7Egress(names: [])
        }
        #expect(throws: PolicyError.invalidField(field: "l7.names[1]", value: "bad name", reason: "not NAME, *.NAME, NAME:PORT or *.NAME:PORT")) {
            try L7Egress(names: ["ok.example.com", "bad name"])
        }
        #expect(throws: PolicyError.invalidField(field: "l7.ports", value: "443", reason: "duplicate port")) {
            try L7Egress(names: ["a.example.com"], ports: [443, 443])
        }
        #expect(throws: PolicyError.invalidField(field: "l7.listener", value: "127.0.0.1:443", reason: "the listener port is one of l7.ports")) {
            try L7Egress(names: ["a.example.com"], listener: try ResolverAddress(parsing: "127.0.0.1:443"))
        }
        #expect(throws: PolicyError.self) { try L7Egress(names: ["a.example.com"], listener: try ResolverAddress(parsing: "10.0.0.1:15001")) }
        #expect(throws: PolicyError.invalidField(field: "l7.listener", value: "127.0.0.1:53", reason: "the same address and port as the resolver")) {
            try EgressPolicy(l7: try L7Egress(names: ["a.example.com"], listener: try ResolverAddress(parsing: "127.0.0.1:53")))
        }
        #expect(throws: PolicyError.invalidField(field: "l7.listener", value: "127.0.0.1:53", reason: "its IPv6 twin [::1]:53 is the resolver's address and port")) {
            try EgressPolicy(resolver: try ResolverAddress(parsing: "[::1]:53"), l7: try L7Egress(names: ["a.example.com"], listener: try ResolverAddress(parsing: "127.0.0.1:53")))
        }
    }

    @Test func transparentModeRedirectsThePortsAndAcceptsOnlyTheListener() throws {
        let ruleset = CellRuleset(try Self.policy())
        let labels = ruleset.rules.map(\.label)
        #expect(labels.firstIndex(of: "l7")! > labels.lastIndex(of: "resolver")!)
        #expect(labels.firstIndex(of: "l7")! < labels.firstIndex(of: "dns")!)
        #expect(ruleset.text.contains("oifname \"lo\" ip daddr 127.0.0.1 tcp dport 15001 counter accept comment \"l7\""))
        #expect(ruleset.text.contains("chain l7redirect {\n\t\ttype nat hook output priority -100; policy accept;"))
        #expect(ruleset.text.contains("meta nfproto ipv4 meta l4proto tcp tcp dport { 443, 80 } counter redirect to :15001 comment \"l7-redirect\""))
        #expect(ruleset.text.contains("meta nfproto ipv6 meta l4proto tcp tcp dport { 443, 80 } counter redirect to :15001 comment \"l7-redirect-v6\""))
        #expect(ruleset.text.contains("oifname \"lo\" ip6 daddr ::1 tcp dport 15001 counter accept comment \"l7v6\""))
        #expect(ruleset.counterLabels == ["established", "resolver", "l7", "l7v6", "ndp", "dns", "default", "l7-redirect", "l7-redirect-v6"])
    }

    @Test func explicitModeRedirectsNothing() throws {
        let ruleset = CellRuleset(try Self.policy(mode: .explicit))
        #expect(ruleset.redirectRules.isEmpty)
        #expect(!ruleset.rules.contains { $0.label == "l7v6" })
        #expect(!ruleset.text.contains("l7redirect"))
        #expect(ruleset.rules.contains { $0.label == "l7" })
    }

    @Test func cellCreatedNamesMayEndWithTheListener() throws {
        for names in [["nflog", "l7-tcp"], ["l7-tcp"], ["l7-tcp", "l7-tcp6"], ["nflog", "l7-tcp", "l7-tcp6"]] {
            let message = CellCreated(cellID: try CellID("c1"), names: CellCreated.requiredNames + names)
            var writer = WireWriter()
            message.encode(to: &writer)
            var reader = WireReader(writer.bytes)
            #expect(try CellCreated(from: &reader).names == message.names)
        }
        for names in [["l7-tcp", "nflog"], ["l7-tcp6"], ["l7-tcp6", "l7-tcp"], ["nflog", "l7-tcp6"], ["l7-tcp", "l7-tcp6", "l7-tcp6"]] {
            let wrong = CellCreated(cellID: try CellID("c1"), names: CellCreated.requiredNames + names)
            var writer = WireWriter()
            wrong.encode(to: &writer)
            var reader = WireReader(writer.bytes)
            #expect(throws: WireError.self, "\(names)") { try CellCreated(from: &reader) }
        }
    }

    @Test func theIPv6ListenerSeedDecodes() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/netnsd-messages/created-l7-v6").path
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus)))
        let header = try FrameHeader.decode(bytes[...])
        let message = try NetnsdFrame.decode(header: header, payload: Array(bytes.dropFirst(FrameHeader.size)), descriptorCount: Int(header.descriptorCount))
        #expect(message == .cellCreated(CellCreated(cellID: try CellID("cell-1"), names: CellCreated.requiredNames + ["nflog", "l7-tcp", "l7-tcp6"])))
    }

    /// In a namespace with only `lo` (and the default route onto it that a cell
    /// without uplink gets for transparent mode), TCP to any address on port 443
    /// lands on the listener, and both rules count it.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func redirectedConnectionsReachTheListenerAndAreCounted() throws {
        try PrivilegedTest.requireRoot()
        let namespace = try freshNamespace()
        try CellFirewall.load(try Self.policy(), in: namespace)
        let enter = ["nsenter", "--net=/proc/\(getpid())/fd/\(namespace.rawValue)"]
        try Shell.check(enter + ["ip", "link", "set", "lo", "up"])
        try Shell.check(enter + ["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"])
        let accepted = try NetworkNamespace.run(in: namespace) { () throws -> Bool in
            let listener = try NetProbe.tcpListener("127.0.0.1", 15001)
            defer { close(listener) }
            return NetProbe.tcpConnect("192.0.2.99", 443) == 0
        }
        #expect(accepted)
        let counters = try CellFirewall.readCounters(in: namespace)
        #expect((counters["l7-redirect"]?.packets ?? 0) >= 1)
        #expect((counters["l7"]?.packets ?? 0) >= 1)
        #expect((counters["default"]?.packets ?? 0) == 0)
    }
}

/// Through the daemon: a CreateCell with an L7 section gets `l7-tcp`, a listening
/// TCP socket that lives in the cell, on which a connection from inside the cell
/// to any address on a redirected port arrives.
extension DaemonTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func createCellHandsOutTheRedirectTarget() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        var reply = try client.request(CreateCell(cellID: try CellID("l7-1"), policy: try L7PolicyTests.policy()))
        #expect(reply.message == .cellCreated(CellCreated(cellID: try CellID("l7-1"), names: ["netns", "dns-udp", "dns-tcp", "nflog", "l7-tcp", "l7-tcp6"])))
        let namespace = reply.descriptors.take(0)
        let listener = reply.descriptors.take(4)
        let listener6 = reply.descriptors.take(5)
        #expect(try SocketNamespace.identity(of: listener6) == namespace.identity())
        #expect(try SocketNamespace.identity(of: listener) == namespace.identity())
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(listener.rawValue, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting == 1)
        let connected = try NetworkNamespace.run(in: namespace) { NetProbe.tcpConnect("198.51.100.7", 80) }
        #expect(connected == 0)
        var ready = pollfd(fd: listener.rawValue, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready, 1, 2000) == 1)
        let counters = try client.request(ReadCounters(cellID: try CellID("l7-1")))
        guard case .countersReport(let report) = counters.message else { Issue.record("\(counters.message)"); return }
        #expect(report.entries.contains { $0.label == "l7-redirect" && $0.packets >= 1 })
        #expect(report.entries.contains { $0.label == "l7-redirect-v6" && $0.packets == 0 })
        // IPv6: TCP to any IPv6 address on a redirected port lands on the [::1] listener, counted.
        let connected6 = try NetworkNamespace.run(in: namespace) { NetProbe.tcpConnect("2001:db8::7", 443) }
        #expect(connected6 == 0, "connect errno \(connected6)")
        var ready6 = pollfd(fd: listener6.rawValue, events: Int16(POLLIN), revents: 0)
        #expect(poll(&ready6, 1, 2000) == 1)
        let counters6 = try client.request(ReadCounters(cellID: try CellID("l7-1")))
        guard case .countersReport(let report6) = counters6.message else { Issue.record("\(counters6.message)"); return }
        #expect(report6.entries.contains { $0.label == "l7-redirect-v6" && $0.packets >= 1 }, "\(report6.entries)")
        #expect(report6.entries.contains { $0.label == "l7v6" && $0.packets >= 1 }, "\(report6.entries)")
        _ = try client.request(DestroyCell(cellID: try CellID("l7-1")))
        #expect(daemon.terminate() == 0)
    }
}

import CellosTestLab
import FlowlogCore
import Foundation
import IPCWire
import Testing

/// The NFLOG socket API against the real kernel: nft rules in a lab namespace log
/// to a group, and the decoded events name the verdict, rule and 5-tuple.
@Suite(.serialized) struct NflogIntegrationTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func loggedVerdictsDecodeWithTheirFiveTuples() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let socket = try flow.openSocket(lab)
            try flow.sendTraffic(lab)
            var decoder = FlowDecoder()
            let events = try collectEvents(from: socket, decoder: &decoder) { $0.count >= 5 }

            let udp4 = try #require(events.first { $0.packet?.destination.description == "10.77.0.2" && $0.packet?.protocolName == "udp" })
            #expect(udp4.verdict == FlowVerdict(verdict: "drop", rule: "r1"))
            #expect(udp4.direction == "out")
            #expect(udp4.packet?.source.description == "10.77.0.1")
            #expect(udp4.packet?.destinationPort == 9999)
            #expect(udp4.packet?.sourcePort != nil)
            #expect(udp4.packet?.length == 20 + 8 + 7)
            #expect(udp4.uid == 0)
            #expect(udp4.group == FlowLab.group)

            let tcp = try #require(events.first { $0.packet?.protocolName == "tcp" })
            #expect(tcp.verdict == FlowVerdict(verdict: "accept", rule: "r2"))
            #expect(tcp.packet?.destinationPort == 8080)
            #expect(tcp.packet?.tcpFlags.map(TCPFlags.text) == "S")

            let icmp = try #require(events.first { $0.packet?.protocolName == "icmp" })
            #expect(icmp.verdict == FlowVerdict(verdict: "accept", rule: "r3"))
            #expect(icmp.packet?.icmpType == 8)
            #expect(icmp.packet?.icmpCode == 0)
            #expect(icmp.packet?.destination.description == "10.77.0.2")

            let udp6 = try #require(events.first { $0.packet?.destination.description == "fd00:77::2" })
            #expect(udp6.verdict == FlowVerdict(verdict: "drop", rule: "r1"))
            #expect(udp6.packet?.source.description == "fd00:77::1")
            #expect(udp6.packet?.protocolName == "udp")
            #expect(udp6.packet?.destinationPort == 9999)

            let icmp6 = try #require(events.first { $0.packet?.protocolName == "icmpv6" })
            #expect(icmp6.verdict == FlowVerdict(verdict: "drop", rule: "r4"))
            #expect(icmp6.packet?.icmpType == 128)
            #expect(icmp6.packet?.destination.description == "fd00:77::2")

            // The port-7777 packet carries another prefix: counted, not an event.
            #expect(decoder.stats.unmatched >= 1)
            #expect(decoder.stats.decodeFailures == 0)
            #expect(!events.contains { $0.packet?.destinationPort == 7777 })
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aSecondSocketCannotTakeABoundGroup() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let first = try flow.openSocket(lab)
            #expect(throws: NflogSocketError.groupInUse(FlowLab.group)) {
                _ = try flow.openSocket(lab)
            }
            _ = first
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func theSocketLivesInTheNamespaceItWasOpenedIn() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let socket = try flow.openSocket(lab)
            // The peer logs to the same group number in its own namespace, with nobody
            // listening there: none of its logs may reach the cell's socket.
            let loaded = try lab.run(in: flow.peer, ["nft", "-f", "-"], input: FlowLab.ruleset)
            #expect(loaded.succeeded)
            try lab.inside(flow.peer) { Traffic.udp(to: "10.77.0.1", port: 9999) }
            try flow.sendTraffic(lab)
            var decoder = FlowDecoder()
            let events = try collectEvents(from: socket, decoder: &decoder) { $0.count >= 4 }
            #expect(events.count >= 4)
            #expect(events.allSatisfy { $0.packet?.source.description != "10.77.0.2" })
            #expect(try NflogSocket.receiveBufferSize(socket) >= 8 << 20)
        }
    }
}

/// What happens when the listener falls behind, and that setup leaks nothing.
@Suite(.serialized) struct NflogOverflowTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aFullSocketBufferIsReportedAsENOBUFSAndSequenceGaps() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            var configuration = NflogSocketConfiguration(group: FlowLab.group)
            configuration.receiveBufferBytes = 4096  // the kernel's minimum, far below the burst
            let raw = try lab.inside(flow.cell) { try NflogSocket.open(configuration).release() }
            let socket = OwnedFD(adopting: raw)
            // 2000 logged datagrams while nobody reads: most batches cannot be queued.
            try lab.inside(flow.cell) {
                for index in 0..<2000 { Traffic.udp(to: flow.peerV4, port: 9999, from: UInt16(30000 + index % 1000)) }
            }
            var decoder = FlowDecoder()
            var kernelDrops = 0
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 8)
            defer { buffer.deallocate() }
            func drain() throws {
                usleep(100_000)  // past the 20 ms flush timeout of the last batch
                while true {
                    switch try NflogSocket.receive(socket, into: buffer) {
                    case .datagram(let count):
                        decoder.process(datagram: UnsafeRawBufferPointer(rebasing: buffer[..<count]), receivedAt: WallTime(seconds: 0, microseconds: 0)) { _ in }
                    case .kernelDropped: kernelDrops += 1
                    case .truncated: Issue.record("datagram larger than the receive buffer")
                    case .empty: return
                    }
                }
            }
            try drain()
            #expect(kernelDrops >= 1)
            #expect(decoder.stats.matched < 2000)
            // Losses show in the sequence once a later packet arrives.
            try lab.inside(flow.cell) {
                for index in 0..<10 { Traffic.udp(to: flow.peerV4, port: 9999, from: UInt16(31000 + index)) }
            }
            try drain()
            #expect(decoder.stats.sequenceLost > 0)
            // The kernel numbered all 2010; each was received or is counted lost.
            #expect(decoder.stats.matched + decoder.stats.sequenceLost == 2010)
            #expect(decoder.stats.decodeFailures == 0)
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func openingAndClosingSocketsLeaksNoDescriptors() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let before = try Self.netfilterSockets()
            for _ in 0..<50 {
                let socket = try flow.openSocket(lab)
                // The probe does see an open one.
                #expect(try Self.netfilterSockets().count == before.count + 1)
                socket.close()
            }
            #expect(try Self.netfilterSockets() == before)
        }
    }

    /// This process's open NETLINK_NETFILTER sockets (other descriptors come and go
    /// with the lab's helper processes, so only these are compared).
    static func netfilterSockets() throws -> [Int32] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap(Int32.init).filter { fd in
            var domain: Int32 = 0, proto: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0, domain == AF_NETLINK else { return false }
            length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &length) == 0 && proto == NflogSocket.netlinkNetfilter
        }.sorted()
    }
}

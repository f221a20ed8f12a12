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
            let events = try collectEvents(from: socket, decoder: &decoder) { $0.count >= 4 }

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

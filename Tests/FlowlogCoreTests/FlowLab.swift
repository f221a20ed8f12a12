import CellosTestLab
import FlowlogCore
import Foundation
import IPCWire

/// A cell namespace linked to a peer, with an nft ruleset that logs to an NFLOG
/// group the way a cell's policy does (prefixes `cellos-flow <verdict> <rule>`).
struct FlowLab {
    static let group: UInt16 = 5
    let cell: LabNamespace
    let peer: LabNamespace
    let peerV4 = "10.77.0.2"
    let peerV6 = "fd00:77::2"

    static let ruleset = """
        table inet flowtest {
            chain out {
                type filter hook output priority 0; policy accept;
                udp dport 9999 log group \(group) prefix "cellos-flow drop r1" drop
                tcp dport 8080 log group \(group) prefix "cellos-flow accept r2" accept
                icmp type echo-request log group \(group) prefix "cellos-flow accept r3" accept
                icmpv6 type echo-request log group \(group) prefix "cellos-flow drop r4" drop
                udp dport 7777 log group \(group) prefix "someone-else" accept
            }
        }
        """

    init(_ lab: Lab) throws {
        cell = try lab.addNamespace("cell")
        peer = try lab.addNamespace("peer")
        let veth = try lab.link(cell, "10.77.0.1/24", peer, "10.77.0.2/24")
        try Shell.check(["ip", "-n", cell.name, "addr", "add", "fd00:77::1/64", "dev", veth.nameA, "nodad"])
        try Shell.check(["ip", "-n", peer.name, "addr", "add", "fd00:77::2/64", "dev", veth.nameB, "nodad"])
        let loaded = try lab.run(in: cell, ["nft", "-f", "-"], input: Self.ruleset)
        guard loaded.succeeded else { throw RulesetRejected(stderr: loaded.stderr) }
    }

    /// Opens the NFLOG socket inside the cell namespace through the product API.
    func openSocket(_ lab: Lab) throws -> OwnedFD {
        // `Lab.inside` returns a copyable value: carry the raw descriptor out.
        let raw = try lab.inside(cell) { try NflogSocket.open(group: Self.group).release() }
        return OwnedFD(adopting: raw)
    }

    /// One packet of each kind the ruleset logs, sent from inside the cell.
    func sendTraffic(_ lab: Lab) throws {
        try lab.inside(cell) {
            Traffic.udp(to: peerV4, port: 9999)
            Traffic.tcpConnect(to: peerV4, port: 8080)
            Traffic.icmpEcho(to: peerV4)
            Traffic.udp(to: peerV6, port: 9999)
            Traffic.icmpEcho(to: peerV6)
            Traffic.udp(to: peerV4, port: 7777)
        }
    }
}

/// Reads an NFLOG socket into a decoder until `done` says so or 5 seconds pass.
func collectEvents(
    from socket: borrowing OwnedFD, decoder: inout FlowDecoder, until done: ([FlowEvent]) -> Bool
) throws -> [FlowEvent] {
    var events: [FlowEvent] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 8)
    defer { buffer.deallocate() }
    let deadline = Monotonic.milliseconds() + 5000
    while !done(events), Monotonic.milliseconds() < deadline {
        var poller = pollfd(fd: socket.rawValue, events: Int16(POLLIN), revents: 0)
        _ = poll(&poller, 1, 100)
        while case .datagram(let count) = try NflogSocket.receive(socket, into: buffer) {
            decoder.process(datagram: UnsafeRawBufferPointer(rebasing: buffer[..<count]), receivedAt: WallTime(seconds: 0, microseconds: 0)) {
                events.append($0)
            }
        }
    }
    return events
}

struct RulesetRejected: Error, CustomStringConvertible {
    let stderr: String
    var description: String { "nft -f rejected the test ruleset: \(stderr)" }
}

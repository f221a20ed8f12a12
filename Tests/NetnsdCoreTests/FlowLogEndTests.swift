import CellosTestLab
import FlowlogCore
import Foundation
import IPCWire
import Testing

/// When a workload ends and nothing it forked is left, netnsd ends the cell's
/// flow log before it sends WorkloadExited: the kernel's partial NFLOG batch is
/// already in the client's socket, followed by the end-of-log ack, so a reader
/// needs no flush-timeout wait. Without that certainty the log stays open.
@Suite(.serialized) struct FlowLogEndTests {
    /// A workload that sends one datagram to a denied DNS server and exits.
    static func dnsProbe(_ id: CellID, _ limits: CgroupLimits, pidNamespace: Bool) throws -> SpawnWorkload {
        try WorkloadLimitTests.spawn(id, ["/bin/bash", "-c", "echo x > /dev/udp/127.0.0.2/53; exit 0"], limits, pidNamespace: pidNamespace)
    }

    /// What the client's NFLOG socket holds right now (no waiting), decoded.
    static func readNow(_ socket: borrowing OwnedFD) -> (events: [FlowEvent], decoder: FlowDecoder) {
        var decoder = FlowDecoder()
        var events: [FlowEvent] = []
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard count > 0 else { break }
            buffer.withUnsafeBytes { raw in
                decoder.process(datagram: UnsafeRawBufferPointer(rebasing: raw[..<count]), receivedAt: WallTime(seconds: 0, microseconds: 0)) { events.append($0) }
            }
        }
        return (events, decoder)
    }

    /// Creates cell `id` on the daemon at `socketPath`, runs `dnsProbe` in it to its
    /// exit, hands the client's NFLOG socket and the exit to `inspect`, destroys it.
    static func runProbe(
        on socketPath: String, id: CellID, limits: CgroupLimits, pidNamespace: Bool = true, _ inspect: (borrowing OwnedFD, WorkloadExited) throws -> Void
    ) throws {
        var client = try NetnsdClient.connect(path: socketPath)
        var reply = try client.request(CreateCell(cellID: id, policy: try DaemonTests.policy()))
        guard case .cellCreated = reply.message else {
            Issue.record("\(reply.message)")
            return
        }
        let nflog = reply.descriptors.take(3)
        let spawned = try client.request(try dnsProbe(id, limits, pidNamespace: pidNamespace))
        guard case .workloadSpawned = spawned.message else {
            Issue.record("\(spawned.message)")
            return
        }
        _ = try client.request(StartWorkload(cellID: id))
        try inspect(nflog, try client.nextExit())
        _ = try client.request(DestroyCell(cellID: id))
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func theLogIsCompleteWhenTheExitArrives() throws {
        try PrivilegedTest.requireRoot()
        let limited = try WorkloadLimitTests.LimitedDaemon()
        try Self.runProbe(on: limited.daemon.socketPath, id: try CellID("logend"), limits: try CgroupLimits(pidsMax: 16)) { nflog, exited in
            let (events, decoder) = Self.readNow(nflog)
            #expect(exited.exitCode == 0)
            #expect(events.contains { $0.verdict == FlowVerdict(verdict: "drop", rule: "dns") && $0.packet?.destinationPort == 53 }, "\(events)")
            #expect(decoder.logEnded)
        }
    }

    /// Without a cgroup (nor a PID namespace: an explicit opt-out) the workload's
    /// children may outlive it, and their packets must still be logged: no end-of-log then.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func withoutContainmentTheLogStaysOpen() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        try Self.runProbe(on: daemon.socketPath, id: try CellID("logopen"), limits: try CgroupLimits(), pidNamespace: false) { nflog, _ in
            // The kernel's flush timeout passes: the packet arrives, the end does not.
            var ready = pollfd(fd: nflog.rawValue, events: Int16(POLLIN), revents: 0)
            #expect(poll(&ready, 1, 2000) == 1)
            usleep(50_000)
            let (events, decoder) = Self.readNow(nflog)
            #expect(events.contains { $0.verdict == FlowVerdict(verdict: "drop", rule: "dns") }, "\(events)")
            #expect(!decoder.logEnded)
        }
    }
}

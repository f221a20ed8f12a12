import CellosTestLab
import FlowlogCore
import Foundation
import IPCWire
import Testing

/// The same traffic logged twice in one lab namespace, once into cellos-flowlog and
/// once into ulogd2 (NFLOG → BASE → IFINDEX → IP2STR → JSON): the packet counts
/// and the 5-tuples must agree.
@Suite(.serialized) struct UlogdCrossCheckTests {
    /// A packet as both tools describe it: prefix, protocol, addresses, ports or ICMP type/code.
    struct Tuple: Hashable, CustomStringConvertible {
        var prefix: String, proto: Int, src: String, dst: String, sport: Int?, dport: Int?, icmpType: Int?
        var description: String { "\(prefix) \(proto) \(src):\(sport ?? -1) → \(dst):\(dport ?? -1) icmp \(icmpType ?? -1)" }
    }

    /// Fixed source ports: both runs send byte-for-byte the same flows.
    static func sendFixedTraffic(_ flow: FlowLab, _ lab: Lab) throws {
        try lab.inside(flow.cell) {
            for index in 0..<5 { Traffic.udp(to: flow.peerV4, port: 9999, from: 41000 + UInt16(index)) }
            Traffic.tcpConnect(to: flow.peerV4, port: 8080, from: 42000)
            Traffic.icmpEcho(to: flow.peerV4)
            Traffic.udp(to: flow.peerV6, port: 9999, from: 43000)
            Traffic.icmpEcho(to: flow.peerV6)
            Traffic.udp(to: flow.peerV4, port: 7777, from: 44000)
        }
    }
    static let expectedFlowPackets = 9
    static let expectedTotal = 10

    static let protocols = ["tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58]

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func flowlogAndUlogdAgreeOnCountsAndFiveTuples() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let directory = try FlowlogExecutable.scratchDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }

            // Run 1: cellos-flowlog.
            let events = directory.appendingPathComponent("flowlog.jsonl").path
            var process = try ActivatedSpawn.spawn(
                executable: FlowlogExecutable.path,
                arguments: ["--group", String(FlowLab.group), "--netns", flow.cell.path, "--events", events],
                environment: [:], names: [], descriptors: DescriptorSet())
            let pid = process.pid
            var stopped = false
            defer { if !stopped { kill(pid, SIGKILL); _ = FlowlogExecutable.wait(pid) } }
            try process.waitUntilReady(timeoutMilliseconds: 5000)
            try Self.sendFixedTraffic(flow, lab)
            _ = FlowlogExecutable.waitForLines(events) { $0.ofType("flow_event").count >= Self.expectedFlowPackets }
            kill(pid, SIGTERM)
            #expect(FlowlogExecutable.exitCode(FlowlogExecutable.wait(pid)) == 0)
            stopped = true
            let ours = FlowlogExecutable.lines(events)
            let ourTuples = ours.ofType("flow_event").map { line in
                Tuple(prefix: "cellos-flow \(line["verdict"] as? String ?? "?") \(line["rule"] as? String ?? "?")",
                      proto: Self.protocols[line["protocol"] as? String ?? ""] ?? -1,
                      src: line["src"] as? String ?? "", dst: line["dst"] as? String ?? "",
                      sport: line["sport"] as? Int, dport: line["dport"] as? Int, icmpType: line["icmp_type"] as? Int)
            }
            let stats = try #require(ours.ofType("flowlog_stats").last)

            // Run 2: ulogd2 on the same group in the same namespace.
            let ulogdOutput = directory.appendingPathComponent("ulogd.json").path
            let ulogdLog = directory.appendingPathComponent("ulogd.log").path
            let configuration = directory.appendingPathComponent("ulogd.conf").path
            try Self.ulogdConfiguration(group: FlowLab.group, output: ulogdOutput, log: ulogdLog)
                .write(toFile: configuration, atomically: true, encoding: .utf8)
            let ulogd = try lab.start(in: flow.cell, ["ulogd", "-c", configuration])
            // ulogd inherits the test runner's blocked signal mask and so ignores the
            // lab's SIGTERM; its JSON output is synced per line, so SIGKILL loses nothing.
            defer {
                kill(ulogd.processIdentifier, SIGKILL)
                ulogd.waitUntilExit()
            }
            let deadline = Monotonic.milliseconds() + 5000
            while Monotonic.milliseconds() < deadline,
                  !((try? String(contentsOfFile: ulogdLog, encoding: .utf8)) ?? "").contains("entering main loop") {
                usleep(20_000)
            }
            try Self.sendFixedTraffic(flow, lab)
            let theirs = FlowlogExecutable.waitForLines(ulogdOutput) { $0.count >= Self.expectedTotal }
            let theirTuples = theirs.filter { ($0["oob.prefix"] as? String ?? "").hasPrefix("cellos-flow ") }.map { line in
                Tuple(prefix: line["oob.prefix"] as? String ?? "", proto: line["ip.protocol"] as? Int ?? -1,
                      src: line["src_ip"] as? String ?? "", dst: line["dest_ip"] as? String ?? "",
                      sport: line["src_port"] as? Int, dport: line["dest_port"] as? Int,
                      icmpType: (line["icmp.type"] ?? line["icmpv6.type"]) as? Int)
            }

            #expect(theirs.count == Self.expectedTotal)
            #expect(ourTuples.count == Self.expectedFlowPackets)
            #expect(stats["matched"] as? Int == Self.expectedFlowPackets)
            #expect((stats["matched"] as? Int ?? 0) + (stats["unmatched"] as? Int ?? 0) == theirs.count)
            #expect(ourTuples.sorted { $0.description < $1.description } == theirTuples.sorted { $0.description < $1.description })
        }
    }

    static func ulogdConfiguration(group: UInt16, output: String, log: String) -> String {
        let plugins = "/usr/lib/x86_64-linux-gnu/ulogd"
        return """
            [global]
            logfile="\(log)"
            loglevel=3
            plugin="\(plugins)/ulogd_inppkt_NFLOG.so"
            plugin="\(plugins)/ulogd_raw2packet_BASE.so"
            plugin="\(plugins)/ulogd_filter_IFINDEX.so"
            plugin="\(plugins)/ulogd_filter_IP2STR.so"
            plugin="\(plugins)/ulogd_output_JSON.so"
            stack=log1:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,json1:JSON

            [log1]
            group=\(group)
            # The same kernel batching as cellos-flowlog's defaults.
            netlink_qtimeout=2
            netlink_qthreshold=64
            netlink_socket_buffer_size=8388608
            netlink_socket_buffer_maxsize=8388608

            [json1]
            file="\(output)"
            sync=1

            """
    }
}

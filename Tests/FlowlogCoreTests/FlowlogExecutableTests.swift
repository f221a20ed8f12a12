import CellosTestLab
import FlowlogCore
import HelperRuntime
import Foundation
import IPCWire
import Testing

/// The built executable, run the way the broker runs it and the way an operator
/// debugs with it.
@Suite(.serialized) struct FlowlogExecutableTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func inheritedSocketAsNobodyWritesEventsSummaryAndStats() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let socket = try flow.openSocket(lab)
            let directory = try FlowlogExecutable.scratchDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let events = directory.appendingPathComponent("events.jsonl").path

            var descriptors = DescriptorSet()
            descriptors.append(socket)
            var process = try ActivatedSpawn.spawn(
                executable: "/usr/bin/setpriv",
                arguments: FlowlogExecutable.asNobody + [FlowlogExecutable.path, "--cell-id", "cell-42", "--events", events],
                environment: [:], names: ["nflog"], descriptors: descriptors)
            let pid = process.pid
            var terminated = false
            defer { if !terminated { kill(pid, SIGKILL); _ = FlowlogExecutable.wait(pid) } }
            try process.waitUntilReady(timeoutMilliseconds: 5000)

            try flow.sendTraffic(lab)
            let seen = FlowlogExecutable.waitForLines(events) { $0.ofType("flow_event").count >= 4 }
            #expect(seen.ofType("flow_event").count >= 4)
            kill(pid, SIGTERM)
            let status = FlowlogExecutable.wait(pid)
            terminated = true
            #expect(FlowlogExecutable.exitCode(status) == 0)

            let lines = FlowlogExecutable.lines(events)
            let flowEvents = lines.ofType("flow_event")
            #expect(flowEvents.allSatisfy { $0["cell_id"] as? String == "cell-42" })
            let udp = try #require(flowEvents.first { $0["protocol"] as? String == "udp" && $0["dst"] as? String == flow.peerV4 })
            #expect(udp["verdict"] as? String == "drop")
            #expect(udp["rule"] as? String == "r1")
            #expect(udp["src"] as? String == "10.77.0.1")
            #expect(udp["dport"] as? Int == 9999)
            #expect(udp["direction"] as? String == "out")
            let tcp = try #require(flowEvents.first { $0["protocol"] as? String == "tcp" })
            #expect(tcp["rule"] as? String == "r2")
            #expect(tcp["dport"] as? Int == 8080)
            let icmp = try #require(flowEvents.first { $0["protocol"] as? String == "icmp" })
            #expect(icmp["icmp_type"] as? Int == 8)
            #expect(flowEvents.contains { $0["dst"] as? String == flow.peerV6 && $0["verdict"] as? String == "drop" })

            // At exit: one summary line per flow, then the stats.
            let summaries = lines.ofType("flow_summary")
            #expect(summaries.count >= 4)
            let stats = try #require(lines.last)
            #expect(stats["type"] as? String == "flowlog_stats")
            #expect(stats["matched"] as? Int == flowEvents.count)
            #expect(stats["events_written"] as? Int == flowEvents.count)
            #expect((stats["unmatched"] as? Int ?? 0) >= 1)
            #expect(stats["decode_failures"] as? Int == 0)
            #expect(stats["kernel_drops"] as? Int == 0)
            #expect(stats["sequence_lost"] as? Int == 0)
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func inheritedModeRefusesToRunWithCapabilities() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            var descriptors = DescriptorSet()
            descriptors.append(try flow.openSocket(lab))
            var process = try ActivatedSpawn.spawn(
                executable: FlowlogExecutable.path, arguments: ["--events", "/dev/null"], environment: [:],
                names: ["nflog"], descriptors: descriptors)
            let pid = process.pid
            #expect {
                try process.waitUntilReady(timeoutMilliseconds: 5000)
            } throws: { error in
                guard case .closedBeforeReady(_, let status) = error as? ReadinessError else { return false }
                return status?.contains("refusing to run with capabilities") == true
            }
            #expect(FlowlogExecutable.exitCode(FlowlogExecutable.wait(pid)) == 1)
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func standaloneWithoutCapabilityNamesCAPNETADMIN() throws {
        try PrivilegedTest.requireRoot()
        let result = try Shell.run(["setpriv"] + FlowlogExecutable.asNobody + [FlowlogExecutable.path, "--group", "9", "--events", "/dev/null"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("CAP_NET_ADMIN"))
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func standaloneInANamedNamespaceReportsOnSIGUSR1() throws {
        try withLab { lab in
            let flow = try FlowLab(lab)
            let directory = try FlowlogExecutable.scratchDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let events = directory.appendingPathComponent("events.jsonl").path
            var process = try ActivatedSpawn.spawn(
                executable: FlowlogExecutable.path,
                arguments: ["--group", String(FlowLab.group), "--netns", flow.cell.path, "--cell-id", "dbg", "--events", events],
                environment: [:], names: [], descriptors: DescriptorSet())
            let pid = process.pid
            defer { kill(pid, SIGKILL); _ = FlowlogExecutable.wait(pid) }
            try process.waitUntilReady(timeoutMilliseconds: 5000)
            // It needed CAP_NET_ADMIN to bind; once ready it holds nothing, is
            // no_new_privs and under seccomp.
            let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            let parsed = try ProcessStatus.parse(status)
            #expect(parsed.effective == 0 && parsed.permitted == 0)
            #expect(status.contains("NoNewPrivs:\t1"))
            #expect(status.contains("Seccomp:\t2"))
            try flow.sendTraffic(lab)
            _ = FlowlogExecutable.waitForLines(events) { $0.ofType("flow_event").count >= 4 }
            kill(pid, SIGUSR1)
            let lines = FlowlogExecutable.waitForLines(events) { !$0.ofType("flowlog_stats").isEmpty }
            // Still running after SIGUSR1, with the summary written.
            #expect(waitpid(pid, nil, WNOHANG) == 0)
            #expect(lines.ofType("flow_summary").count >= 4)
            let stats = try #require(lines.ofType("flowlog_stats").first)
            #expect((stats["matched"] as? Int ?? 0) >= 4)
            #expect(lines.ofType("flow_event").allSatisfy { $0["cell_id"] as? String == "dbg" })
        }
    }
}

@Suite struct ConfinementTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aConfinedThreadCannotOpenSocketsButKeepsWorking() throws {
        try PrivilegedTest.requireRoot()
        // Confine a throwaway thread only (no TSYNC), never the test runner.
        final class Outcome: @unchecked Sendable {
            var applied = false, socketErrno: Int32 = 0, pidWorks = false, thread = ""
        }
        let outcome = Outcome()
        let confined = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { confined.signal() }
            // "<pid>/task/<tid>", read before confinement forbids readlink.
            outcome.thread = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
            do { try Confinement.apply(allThreads: false) } catch { return }
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            outcome.applied = true
            outcome.socketErrno = fd < 0 ? errno : 0
            outcome.pidWorks = getpid() > 0
            if fd >= 0 { close(fd) }
            // Stay alive while the test reads this thread's status.
            confined.signal()
            release.wait()
        }
        thread.start()
        confined.wait()
        let status = (try? String(contentsOfFile: "/proc/\(outcome.thread)/status", encoding: .utf8)) ?? ""
        release.signal()
        confined.wait()
        #expect(outcome.applied)
        #expect(outcome.socketErrno == EPERM)
        #expect(outcome.pidWorks)
        #expect(status.contains("NoNewPrivs:\t1"))
        #expect(status.contains("Seccomp:\t2"))
    }
}

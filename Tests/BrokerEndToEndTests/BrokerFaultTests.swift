import CellosTestLab
import Foundation
import IPCWire
import Testing

/// The broker facing netnsd's limits and its own death.
@Suite(.serialized) struct BrokerFaultTests {
    /// Pids of processes whose command line matches `pattern` (pgrep -f).
    static func matching(_ pattern: String) -> [pid_t] {
        ((try? Shell.run(["pgrep", "-f", pattern]))?.stdout ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    static func children(of parent: pid_t) -> [pid_t] {
        ((try? Shell.run(["pgrep", "-P", String(parent)]))?.stdout ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    /// With every connection taken, the broker gets netnsd's refusal as its
    /// answer: a clear message naming the limit and exit status 125, no hang.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aBrokerOverMaxConnectionsReportsTheLimit() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(cgroups: false, netnsdArguments: ["--max-connections", "1"]) { cell in
            var holder = try NetnsdClient.connect(path: cell.socket)
            let probe = try holder.request(DestroyCell(cellID: try CellID("probe")))
            guard case .error(let served) = probe.message, served.code == "unknown_cell" else {
                Issue.record("the holding connection was not served: \(probe.message)")
                return
            }
            let run = try cell.broker(["--spec", try cell.specFile(id: "e2e-over", argv: ["/bin/true"])])
            #expect(run.result.status == 125, "\(run.result.stderr)")
            #expect(run.result.stderr.contains("limit_exceeded") && run.result.stderr.contains("--max-connections 1"), "\(run.result.stderr)")
        }
    }

    /// A SIGKILLed broker cannot stop its helpers; PR_SET_PDEATHSIG does, and
    /// netnsd ends the workload when the connection closes.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aSigkilledBrokerLeavesNoHelperOrWorkload() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(cgroups: false) { cell in
            let spec = try cell.specFile(id: "e2e-orphan", argv: ["/bin/sleep", "30"])
            let broker = try ActivatedSpawn.spawn(
                executable: "/usr/sbin/ip",
                arguments: ["netns", "exec", cell.host.name, try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", cell.socket,
                            "--events", "\(cell.directory)/orphan.jsonl", "--spec", spec],
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], names: [], descriptors: DescriptorSet()).pid
            var reaped = false
            defer {
                if !reaped {
                    kill(broker, SIGKILL)
                    _ = waitpid(broker, nil, 0)
                }
            }
            // Both helpers up and the workload running (netnsd's child).
            let workloads = { Self.children(of: cell.netnsdPID) }
            let helpers = "cellos-(dnsproxy|flowlog) .*--cell-id e2e-orphan"
            var deadline = Monotonic.milliseconds() + 10_000
            while (Self.matching(helpers).count < 2 || workloads().isEmpty) && Monotonic.milliseconds() < deadline {
                usleep(50_000)
            }
            try #require(Self.matching(helpers).count == 2, "the helpers never started")
            kill(broker, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(broker, &status, 0)
            reaped = true
            #expect(status & 0x7F == SIGKILL)
            deadline = Monotonic.milliseconds() + 5000
            while (!Self.matching(helpers).isEmpty || !workloads().isEmpty) && Monotonic.milliseconds() < deadline {
                usleep(50_000)
            }
            #expect(Self.matching(helpers).isEmpty, "helpers outlived their broker")
            #expect(workloads().isEmpty, "the workload outlived its broker")
        }
    }
}

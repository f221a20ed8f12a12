import CellosTestLab
import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// netnsd killed without any cleanup (SIGKILL): nothing it started outlives it,
/// and a daemon restarted on the same state directory removes what it left.
@Suite(.serialized) struct CrashTests {
    /// In /proc and not a zombie (a killed workload is a zombie until init reaps it).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")"),
            let state = stat[stat.index(after: close)...].split(separator: " ").first else { return false }
        return state != "Z" && state != "X"
    }

    static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
        }
    }

    /// Polls `condition` every 10 ms for up to `milliseconds`; whether it held.
    static func within(_ milliseconds: Int64, _ condition: () -> Bool) -> Bool {
        let deadline = Monotonic.milliseconds() + milliseconds
        while !condition() {
            if Monotonic.milliseconds() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    static func spawn(_ id: CellID, _ argv: [String], limits: CgroupLimits = .unlimited) throws -> SpawnWorkload {
        try SpawnWorkload(cellID: id, path: argv[0], arguments: argv, environment: ["PATH=/usr/bin:/bin"], cgroupLimits: limits)
    }

    static func egressPolicy() throws -> EgressPolicy { try EgressPolicy(allow: [try AllowRule(spec: "1,tcp,10.77.0.0/24,80")]) }

    /// The workload is forked by its connection's thread, and the kernel sends
    /// the death signal when that *thread* exits. A connection's thread lives
    /// until the connection closes (which destroys its cells anyway): the
    /// workload survives its own connection's requests and other connections
    /// coming and going, and dies within 1 s of SIGKILL to netnsd.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aWorkloadOutlivesConnectionActivityButNotTheDaemon() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("thread-\(getpid())")
        _ = try client.request(CreateCell(cellID: id, policy: try DaemonTests.policy()))
        guard case .workloadSpawned(let spawned) = try client.request(try Self.spawn(id, ["/bin/sleep", "40"])).message else {
            Issue.record("spawn refused")
            return
        }
        #expect(try client.request(StartWorkload(cellID: id)).message == .workloadStarted(WorkloadStarted(cellID: id)))
        for round in 0..<5 {
            _ = try client.request(ReadCounters(cellID: id))
            let other = try CellID("thread-\(round)")
            _ = try client.request(CreateCell(cellID: other, policy: try DaemonTests.policy()))
            _ = try client.request(DestroyCell(cellID: other))
            // Another connection, its thread gone once it closes.
            var passing = try NetnsdClient.connect(path: daemon.socketPath)
            _ = try passing.request(DestroyCell(cellID: other))
        }
        usleep(300_000)
        #expect(Self.isAlive(spawned.pid), "the workload died with a thread that was not its connection's")
        daemon.killHard()
        #expect(Self.within(1000) { !Self.isAlive(spawned.pid) }, "workload \(spawned.pid) outlived netnsd")
    }

    /// netnsd SIGKILLed with (a) a parked workload, (b) a running one that forked
    /// grandchildren, (c) one in limited cgroup leaves, all in cells with an
    /// uplink and a pin, and (d) a cell without a workload: within 1 s no
    /// process of those workloads exists (by pid and by the leaves'
    /// cgroup.procs). A daemon restarted on the same state directory removes
    /// the leaves, pins, veths, NAT tables and the socket file, logging counts;
    /// a second daemon on that directory refuses to start, naming the holder.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func sigkilledNetnsdTakesItsWorkloadsAndARestartSweepsTheRest() throws {
        try PrivilegedTest.requireRoot()
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let state = "/tmp/cellos-netnsd-crash-state-\(unique)"
            let log = "/tmp/cellos-netnsd-crash-\(unique).log"
            defer {
                try? FileManager.default.removeItem(atPath: state)
                unlink(log)
            }
            let limited = try WorkloadLimitTests.LimitedDaemon(
                extraArguments: ["--pin", "--uplink-pool", "10.204.0.0/24", "--uplink-netns", up.path], stateDirectory: state, log: log)
            let daemon = limited.daemon
            var client = try NetnsdClient.connect(path: daemon.socketPath)
            let ids = try ["parked", "forked", "limited", "idle"].map { try CellID("crash-\($0)-\(getpid())") }
            for id in ids {
                guard case .cellCreated = try client.request(CreateCell(cellID: id, policy: try Self.egressPolicy())).message else {
                    Issue.record("create \(id) refused")
                    return
                }
            }
            let requests = [
                try Self.spawn(ids[0], ["/bin/sleep", "41"]),
                try Self.spawn(ids[1], ["/bin/sh", "-c", "/bin/sleep 42 & /bin/sleep 43 & wait"]),
                try Self.spawn(ids[2], ["/bin/sleep", "44"], limits: DaemonTests.leakLimits),
            ]
            var workloads: [pid_t] = []
            var leaves: [String] = []
            for request in requests {
                guard case .workloadSpawned(let spawned) = try client.request(request).message else {
                    Issue.record("spawn \(request.cellID) refused")
                    return
                }
                workloads.append(spawned.pid)
                leaves += try limited.leaves(request.cellID, spawned).values
            }
            for id in ids[1...2] { _ = try client.request(StartWorkload(cellID: id)) }
            #expect(Self.within(2000) { Self.children(of: workloads[1]).count == 2 }, "the shell did not fork its two sleeps")
            workloads += Self.children(of: workloads[1])
            let pins = ids.map { "\(NamespacePin.directory)/\(CellFactory.pinName($0))" }
            defer { for pin in pins { try? NamespacePin(path: pin, record: nil).remove() } }
            #expect(pins.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            let links = { try lab.run(in: up, ["ip", "-o", "link", "show"]).stdout.split(separator: "\n").filter { $0.contains("cellosu") } }
            let tables = { try lab.run(in: up, ["nft", "list", "tables"]).stdout.split(separator: "\n").filter { $0.contains("cellos_uplink") } }
            #expect(try links().count == 4 && tables().count == 4)

            daemon.killHard()
            #expect(Self.within(1000) { workloads.allSatisfy { !Self.isAlive($0) } },
                    "alive after netnsd's SIGKILL: \(workloads.filter(Self.isAlive))")
            #expect(Self.within(1000) { leaves.allSatisfy { WorkloadLimitTests.members($0).isEmpty } }, "\(leaves.map(WorkloadLimitTests.members))")
            // What SIGKILL left behind, for the restart to sweep. (Only this daemon's:
            // the v1 `cellos` directories may hold other daemons' leaves.)
            let staleLeaves = Set(leaves)
            #expect(staleLeaves.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            #expect(try links().count == 4 && tables().count == 4)

            let restarted = try DaemonTests.RunningDaemon(
                arguments: limited.arguments, stateDirectory: state, socketPath: daemon.socketPath, log: log)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            // At least these (the sweep also takes empty orphans in the shared v1 directories).
            let sweptLeaves = text.firstRange(of: "restart sweep: removed ").map { text[$0.upperBound...].prefix { $0.isNumber } }.flatMap { Int($0) }
            #expect((sweptLeaves ?? 0) >= staleLeaves.count && text.contains("cgroup leaves left by an earlier daemon"), "\(text)")
            #expect(text.contains("restart sweep: removed 4 pins under /run/netns left by an earlier daemon"), "\(text)")
            #expect(text.contains("restart sweep: removed 4 uplink veths and 4 uplink NAT tables left by an earlier daemon"), "\(text)")
            #expect(text.contains("restart sweep: removed the stale control socket file \(daemon.socketPath)"), "\(text)")
            #expect(staleLeaves.filter { FileManager.default.fileExists(atPath: $0) } == [])
            #expect(pins.filter { FileManager.default.fileExists(atPath: $0) } == [])
            #expect(try links() == [] && tables() == [])
            #expect(directoryEntries("\(state)/pins") == [])

            // The restarted daemon holds the lock: another one on the directory refuses.
            #expect {
                _ = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"], stateDirectory: state)
            } throws: { error in
                guard case .closedBeforeReady(_, let status)? = error as? ReadinessError else { return false }
                return status?.contains("--state-dir \(state): another cellos-netnsd (pid \(restarted.pid)) holds \(state)/lock") == true
            }
            #expect(restarted.terminate() == 0)
        }
    }
}

import CellosTestLab
import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// cgroup memory/pids/cpu limits on the real kernel, through a running daemon
/// with `--cgroup-root` in a fresh directory of the machine's v2 hierarchy. On a
/// hybrid host (this machine, CI) the limits land in v1 leaves beneath the
/// daemon's own cgroup; on a v2 host in the v2 leaf. Each test checks the leaves
/// are gone afterwards; a failing test's leftovers are killed and removed.
@Suite(.serialized) struct WorkloadLimitTests {
    static let perl = "/usr/bin/perl"

    /// A daemon with `--cgroup-root` and what it needs to find a workload's leaves.
    final class LimitedDaemon {
        let root: String
        let daemon: DaemonTests.RunningDaemon
        /// The daemon's own cgroups (v1 leaves go beneath them).
        let hierarchies: CgroupHierarchies
        private var seen: Set<String> = []

        /// Its command line after `--socket` and `--state-dir` (for a restarted daemon).
        let arguments: [String]

        init(extraArguments: [String] = [], stateDirectory: String? = nil, log: String? = nil) throws {
            let hierarchy = try #require(WorkloadCgroupTests.v2Hierarchy(), "no cgroup v2 hierarchy on this machine")
            root = "\(hierarchy)/cellos-netnsd-limits-\(getpid())"
            try #require(mkdir(root, 0o755) == 0, "mkdir \(root): errno \(errno)")
            arguments = ["--allow-uid", "0", "--cgroup-root", root] + extraArguments
            do {
                daemon = try DaemonTests.RunningDaemon(arguments: arguments, stateDirectory: stateDirectory, log: log)
            } catch {
                rmdir(root)
                throw error
            }
            hierarchies = CgroupHierarchies(
                mountinfo: (try? String(contentsOfFile: "/proc/\(daemon.pid)/mountinfo", encoding: .utf8)) ?? "",
                procCgroup: (try? String(contentsOfFile: "/proc/\(daemon.pid)/cgroup", encoding: .utf8)) ?? "")
        }

        /// The leaf directory holding each enforced limit, and the v2 leaf as "kill".
        func leaves(_ id: CellID, _ spawned: WorkloadSpawned) throws -> [String: String] {
            let name = "cell-\(id)-\(spawned.pid)"
            var paths = ["kill": "\(root)/\(name)"]
            for entry in spawned.enforcement {
                switch entry.mechanism {
                case .cgroupV2: paths[entry.limit.description] = "\(root)/\(name)"
                case .cgroupV1:
                    let own = try hierarchies.ownDirectory(for: entry.limit.description).get()
                    paths[entry.limit.description] = "\(own)/\(CgroupControllers.v1Subdirectory)/\(name)"
                case .notEnforced(let reason): Issue.record("\(entry.limit) not enforced: \(reason)")
                }
            }
            seen.formUnion(paths.values)
            return paths
        }

        /// Every `cell-*` leaf the daemon has now: under the v2 root and in the
        /// v1 directories beneath its own cgroups.
        func liveLeaves() -> [String] {
            var parents = [root]
            for controller in ["memory", "pids", "cpu"] {
                if case .success(let own) = hierarchies.ownDirectory(for: controller) {
                    parents.append("\(own)/\(CgroupControllers.v1Subdirectory)")
                }
            }
            return parents.flatMap { parent in
                ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix("cell-") }.map { "\(parent)/\($0)" }
            }
        }

        /// Waits until none of `paths` exists; returns those still there.
        func waitUntilRemoved(_ paths: some Collection<String>) -> [String] {
            let deadline = Monotonic.milliseconds() + 4000
            var left = Array(paths)
            while !left.isEmpty && Monotonic.milliseconds() < deadline {
                left = left.filter { FileManager.default.fileExists(atPath: $0) }
                if !left.isEmpty { usleep(20_000) }
            }
            return left
        }

        deinit {
            // Only after a failure is anything left: kill its processes, remove it.
            for leaf in seen.sorted(by: { $0.count > $1.count }) where FileManager.default.fileExists(atPath: leaf) {
                let procs = (try? String(contentsOfFile: "\(leaf)/cgroup.procs", encoding: .utf8)) ?? ""
                for pid in procs.split(separator: "\n").compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
                let deadline = Monotonic.milliseconds() + 2000
                while rmdir(leaf) != 0 && errno == EBUSY && Monotonic.milliseconds() < deadline { usleep(10_000) }
            }
            rmdir(root)
        }
    }

    static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<unreadable \(path)>" }

    static func members(_ leaf: String) -> [pid_t] { read("\(leaf)/cgroup.procs").split(separator: "\n").compactMap { pid_t($0) } }

    /// With ids the daemon allocates (the default): many cells at once, and a
    /// cell's explicit ids stay claimed until its reaper is done.
    static func spawn(
        _ id: CellID, _ arguments: [String], _ limits: CgroupLimits, pidNamespace: Bool = true, mounts: [BindMount] = []
    ) throws -> SpawnWorkload {
        try SpawnWorkload(
            cellID: id, path: arguments[0].hasPrefix("/") ? arguments[0] : "/bin/\(arguments[0])", arguments: arguments,
            environment: ["PATH=/usr/bin:/bin"], workingDirectory: "/tmp", pidNamespace: pidNamespace, mounts: mounts,
            cgroupLimits: limits)
    }

    /// pids.max 5: the parked workload is in every leaf before it runs; then a
    /// perl that forks 20 sleeping children gets exactly 4 (itself plus 4 is 5)
    /// and 16 fork failures. Its leaves are removed once it and its children exit.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func pidsLimitMakesForksFail() throws {
        try PrivilegedTest.requireRoot()
        let lab = try LimitedDaemon()
        var client = try NetnsdClient.connect(path: lab.daemon.socketPath)
        let id = try CellID("lim-pids")
        let shared = try SharedDirectory("pids")
        let output = shared.file("forks.txt")
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        let script = #"open(my $out, ">", $ARGV[0]) or die "$!"; my ($ok, $failed) = (0, 0); for (1..20) { my $pid = fork(); if (!defined $pid) { $failed++ } elsif ($pid == 0) { sleep 1; exit 0 } else { $ok++ } } print $out "forked=$ok failed=$failed\n"; close $out; 1 while wait() > 0;"#
        let reply = try client.request(try Self.spawn(id, [Self.perl, "-e", script, output], try CgroupLimits(pidsMax: 5), mounts: [shared.mount]))
        guard case .workloadSpawned(let spawned) = reply.message else {
            Issue.record("spawn refused: \(reply.message)")
            return
        }
        #expect(spawned.enforcement.map(\.limit) == [.pids] && spawned.notEnforced.isEmpty, "\(spawned.enforcement)")
        let leaves = try lab.leaves(id, spawned)
        for leaf in Set(leaves.values) { #expect(Self.members(leaf) == [spawned.pid], "\(leaf)") }
        #expect(Self.read("\(try #require(leaves["pids"]))/pids.max") == "5\n")
        _ = try client.request(StartWorkload(cellID: id))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: id, exitCode: 0, signal: nil)))
        #expect(Self.read(output) == "forked=4 failed=16\n")
        #expect(lab.waitUntilRemoved(leaves.values).isEmpty)
    }

    /// memory 32 MiB: a perl that builds a 100 MiB string is OOM-killed (SIGKILL
    /// in WorkloadExited); the same program without the limit completes, so the
    /// kill is the limit's doing.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func memoryLimitKillsAProcessThatTouchesMore() throws {
        try PrivilegedTest.requireRoot()
        let lab = try LimitedDaemon()
        var client = try NetnsdClient.connect(path: lab.daemon.socketPath)
        let hog = [Self.perl, "-e", #"my $x = "a" x (100 << 20); exit(length($x) == (100 << 20) ? 0 : 1);"#]
        let limited = try CellID("lim-mem")
        _ = try client.request(CreateCell(cellID: limited, policy: try EgressPolicy()))
        let reply = try client.request(try Self.spawn(limited, hog, try CgroupLimits(memoryMaxBytes: 32 << 20)))
        guard case .workloadSpawned(let spawned) = reply.message else {
            Issue.record("spawn refused: \(reply.message)")
            return
        }
        let leaves = try lab.leaves(limited, spawned)
        let memory = try #require(leaves["memory"])
        let file = spawned.enforcement.first?.mechanism == .cgroupV2 ? "memory.max" : "memory.limit_in_bytes"
        #expect(Self.read("\(memory)/\(file)") == "33554432\n")
        _ = try client.request(StartWorkload(cellID: limited))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: limited, exitCode: nil, signal: SIGKILL)))
        #expect(lab.waitUntilRemoved(leaves.values).isEmpty)

        let free = try CellID("lim-mem-free")
        _ = try client.request(CreateCell(cellID: free, policy: try EgressPolicy()))
        guard case .workloadSpawned(let unlimited) = try client.request(try Self.spawn(free, hog, .unlimited)).message else {
            Issue.record("spawn refused")
            return
        }
        #expect(unlimited.enforcement.isEmpty)
        _ = try client.request(StartWorkload(cellID: free))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: free, exitCode: 0, signal: nil)))
    }

    /// cpu 10 percent: while a busy loop runs, its leaf holds quota 10000 per
    /// 100000 µs period and the kernel throttles it (cpu.stat nr_throttled grows).
    /// 10 rather than 50: on a loaded machine a loop may get less than half a CPU
    /// and then is never throttled.
    /// DestroyCell kills it and removes every leaf.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func cpuQuotaIsWrittenAndThrottles() throws {
        try PrivilegedTest.requireRoot()
        let lab = try LimitedDaemon()
        var client = try NetnsdClient.connect(path: lab.daemon.socketPath)
        let id = try CellID("lim-cpu")
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        let reply = try client.request(try Self.spawn(id, ["sh", "-c", "while :; do :; done"], try CgroupLimits(cpuPercent: 10)))
        guard case .workloadSpawned(let spawned) = reply.message else {
            Issue.record("spawn refused: \(reply.message)")
            return
        }
        let leaves = try lab.leaves(id, spawned)
        let cpu = try #require(leaves["cpu"])
        _ = try client.request(StartWorkload(cellID: id))
        if spawned.enforcement.first?.mechanism == .cgroupV2 {
            #expect(Self.read("\(cpu)/cpu.max") == "10000 100000\n")
        } else {
            #expect(Self.read("\(cpu)/cpu.cfs_quota_us") == "10000\n")
            #expect(Self.read("\(cpu)/cpu.cfs_period_us") == "100000\n")
        }
        #expect(Self.members(cpu) == [spawned.pid])
        func throttled() -> Int {
            Self.read("\(cpu)/cpu.stat").split(separator: "\n").first { $0.hasPrefix("nr_throttled ") }
                .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        }
        let deadline = Monotonic.milliseconds() + 3000
        while throttled() == 0 && Monotonic.milliseconds() < deadline { usleep(50_000) }
        #expect(throttled() > 0, "\(Self.read("\(cpu)/cpu.stat"))")
        #expect(try client.request(DestroyCell(cellID: id)).message == .cellDestroyed(CellDestroyed(cellID: id)))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: id, exitCode: nil, signal: SIGKILL)))
        #expect(lab.waitUntilRemoved(leaves.values).isEmpty)
    }

    /// A client that disconnects while its workload (with all three limits) runs:
    /// the daemon kills the workload and removes the v2 leaf and every v1 leaf.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func disconnectRemovesEveryLeaf() throws {
        try PrivilegedTest.requireRoot()
        let lab = try LimitedDaemon()
        let id = try CellID("lim-gone")
        var leaves: [String: String] = [:]
        var workload: pid_t = 0
        do {
            var client = try NetnsdClient.connect(path: lab.daemon.socketPath)
            _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
            let limits = try CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 32, cpuPercent: 50)
            let reply = try client.request(try Self.spawn(id, ["sh", "-c", "sleep 30 & wait"], limits))
            guard case .workloadSpawned(let spawned) = reply.message else {
                Issue.record("spawn refused: \(reply.message)")
                return
            }
            #expect(spawned.enforcement.map(\.limit) == [.memory, .pids, .cpu] && spawned.notEnforced.isEmpty, "\(spawned.enforcement)")
            leaves = try lab.leaves(id, spawned)
            workload = spawned.pid
            _ = try client.request(StartWorkload(cellID: id))
            let kill = try #require(leaves["kill"])
            let deadline = Monotonic.milliseconds() + 3000
            while Self.members(kill).count < 2 && Monotonic.milliseconds() < deadline { usleep(20_000) }
            for leaf in Set(leaves.values) { #expect(Self.members(leaf).count == 2, "sh and sleep in \(leaf)") }
        }  // the connection closes here
        #expect(lab.waitUntilRemoved(leaves.values).isEmpty)
        #expect(WorkloadCgroupTests.waitUntilGone([workload]).isEmpty)
    }

    /// Without --cgroup-root the workload runs as before and each requested limit
    /// is reported as not enforced, with the reason.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func withoutCgroupRootLimitsAreReportedNotEnforced() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("lim-none")
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        let reply = try client.request(try Self.spawn(id, ["true"], try CgroupLimits(memoryMaxBytes: 64 << 20, cpuPercent: 10)))
        guard case .workloadSpawned(let spawned) = reply.message else {
            Issue.record("spawn refused: \(reply.message)")
            return
        }
        #expect(spawned.enforcement == [
            .init(.memory, .notEnforced(reason: "no --cgroup-root")), .init(.cpu, .notEnforced(reason: "no --cgroup-root")),
        ])
        _ = try client.request(StartWorkload(cellID: id))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: id, exitCode: 0, signal: nil)))
    }

    /// A limit whose controller has no place is reported, the others applied, and
    /// the process still joins its leaves (WorkloadCgroups on the real kernel with
    /// memory declared unavailable).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func unavailableControllerIsReportedAndTheRestApplied() throws {
        try PrivilegedTest.requireRoot()
        let hierarchy = try #require(WorkloadCgroupTests.v2Hierarchy())
        let root = "\(hierarchy)/cellos-netnsd-unavailable-\(getpid())"
        try #require(mkdir(root, 0o755) == 0)
        defer { rmdir(root) }
        let discovered = CgroupControllers.discover(v2Root: root)
        var placements = discovered.placements
        placements[.memory] = .unavailable(reason: "declared unavailable by the test")
        let settings = CgroupSettings(root: root, controllers: CgroupControllers(placements: placements))
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) }; sleeper.waitUntilExit() }
        let cgroups = try WorkloadCgroups.create(
            settings, name: "unavailable-test", pid: sleeper.processIdentifier, limits: try CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 8),
            endWorkload: { Issue.record("endWorkload called although nothing failed") })
        defer { cgroups.killAll(); cgroups.remove() }
        #expect(cgroups.enforcement.first == .init(.memory, .notEnforced(reason: "declared unavailable by the test")))
        #expect(cgroups.enforcement.last?.limit == .pids && cgroups.enforcement.last?.isEnforced == true)
        for leaf in cgroups.leaves { #expect(Self.members(leaf.path) == [sleeper.processIdentifier], "\(leaf.path)") }
        #expect(cgroups.leaves.count == (discovered.placement(of: .pids) == .v2 ? 1 : 2))
        cgroups.killAll()
        sleeper.waitUntilExit()
        cgroups.remove()
        for leaf in cgroups.leaves { #expect(!FileManager.default.fileExists(atPath: leaf.path), "\(leaf.path)") }
    }

    /// A failed write to a controller that is there (here: a v1 directory that
    /// does not exist) fails the whole setup: the workload is ended first (a
    /// leaf with a process cannot go), then the leaves made so far are removed.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func failedSetupEndsTheWorkloadAndRemovesItsLeaves() throws {
        try PrivilegedTest.requireRoot()
        let hierarchy = try #require(WorkloadCgroupTests.v2Hierarchy())
        let root = "\(hierarchy)/cellos-netnsd-failed-\(getpid())"
        try #require(mkdir(root, 0o755) == 0)
        defer { rmdir(root) }
        let missing = "/run/cellos-no-such-cgroup-\(getpid())"
        let settings = CgroupSettings(root: root, controllers: CgroupControllers(placements: [.pids: .v1(directory: missing)]))
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) }; sleeper.waitUntilExit() }
        var ended = false
        #expect(throws: SystemCallError("mkdir", errno: ENOENT, context: "\(missing)/cellos")) {
            _ = try WorkloadCgroups.create(settings, name: "failed-test", pid: sleeper.processIdentifier, limits: try CgroupLimits(pidsMax: 8)) {
                ended = true
                kill(sleeper.processIdentifier, SIGKILL)
                sleeper.waitUntilExit()
            }
        }
        #expect(ended)
        #expect(sleeper.terminationReason == .uncaughtSignal && sleeper.terminationStatus == SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: "\(root)/failed-test"))
    }

    /// At startup every `cell-*` leaf an earlier daemon left in the v2 root is
    /// removed, a populated one after its processes are killed, with its v1
    /// namesakes; in the (shared) v1 `cellos` directories an empty leaf goes and
    /// a populated one without a v2 namesake stays (another daemon's).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func startupKillsAndRemovesStaleLeaves() throws {
        try PrivilegedTest.requireRoot()
        let hierarchy = try #require(WorkloadCgroupTests.v2Hierarchy())
        let root = "\(hierarchy)/cellos-netnsd-stale-\(getpid())"
        try #require(mkdir(root, 0o755) == 0)
        defer { rmdir(root) }
        let discovered = CgroupControllers.discover(v2Root: root)
        let v1 = StaleLeafSweep.v1Directories(controllers: discovered).first
        var made = ["\(root)/cell-stale-\(getpid())", "\(root)/cell-busy-\(getpid())"]
        if let v1 { made += ["\(v1)/cell-stale-\(getpid())", "\(v1)/cell-busy-\(getpid())"] }
        let foreign = v1.map { "\($0)/cell-foreign-\(getpid())" }
        // The `cellos` directory is made on demand; removed at the end unless others use it.
        if let v1 { mkdir(v1, 0o755) }
        defer { if let v1 { rmdir(v1) } }
        for path in made + (foreign.map { [$0] } ?? []) { #expect(mkdir(path, 0o755) == 0, "\(path)") }
        func sleeper() throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sleep")
            process.arguments = ["30"]
            try process.run()
            return process
        }
        let busy = try sleeper()
        let other = try sleeper()
        defer {
            for process in [busy, other] where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            busy.waitUntilExit()
            other.waitUntilExit()
            for path in (foreign.map { [$0] } ?? []) + made.reversed() {
                let deadline = Monotonic.milliseconds() + 2000
                while rmdir(path) != 0 && errno == EBUSY && Monotonic.milliseconds() < deadline { usleep(10_000) }
            }
        }
        for path in made where path.contains("cell-busy") {
            try "\(busy.processIdentifier)\n".write(toFile: "\(path)/cgroup.procs", atomically: false, encoding: .utf8)
        }
        if let foreign { try "\(other.processIdentifier)\n".write(toFile: "\(foreign)/cgroup.procs", atomically: false, encoding: .utf8) }

        let settings = try CgroupSettings.prepare(root: root)
        for path in made {
            #expect(settings.staleLeaves.removed.contains(path), "\(settings.staleLeaves)")
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(settings.staleLeaves.populated == 1 && settings.staleLeaves.killed == 1, "\(settings.staleLeaves)")
        busy.waitUntilExit()
        #expect(busy.terminationReason == .uncaughtSignal && busy.terminationStatus == SIGKILL)
        #expect(settings.staleLeafSummary?.contains("removed \(made.count) cgroup leaves") == true, "\(settings.staleLeafSummary ?? "nil")")
        if let foreign {
            #expect(!settings.staleLeaves.removed.contains(foreign))
            #expect(Self.members(foreign) == [other.processIdentifier])
        }
    }
}

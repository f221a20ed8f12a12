import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import NetworkNamespaces
import Testing

/// SpawnWorkload/StartWorkload/SignalWorkload through a running daemon that holds
/// only its declared capabilities.
@Suite(.serialized) struct WorkloadTests {
    static let nobody: UInt32 = 65534

    static func spawn(_ id: CellID, _ script: String, mounts: [BindMount] = [], pidNamespace: Bool = true) throws -> SpawnWorkload {
        try SpawnWorkload(
            cellID: id, path: "/bin/sh", arguments: ["sh", "-c", script], environment: ["PATH=/usr/bin:/bin", "CELL=\(id)"],
            workingDirectory: "/tmp", uid: nobody, gid: nobody, pidNamespace: pidNamespace, mounts: mounts)
    }

    /// The workload does not run before StartWorkload (the file it would create is
    /// absent while parked), then runs in the cell netns as the requested uid with
    /// no capabilities and no_new_privs, and its exit is reported.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func parkedWorkloadRunsOnlyAfterStartConfinedInTheCell() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("work1")
        let shared = try SharedDirectory("workload")
        let output = shared.file("report.txt")
        let hostResolvConf = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        var created = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        guard case .cellCreated = created.message else {
            Issue.record("\(created.message)")
            return
        }
        let cellNamespace = try created.descriptors.take(0).identity()

        // `unshare -U` needs no privilege on this kernel (an unprivileged user
        // namespace), so only the seccomp filter can make it fail.
        let script = "{ grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; readlink /proc/self/ns/net; echo \"env=$CELL\"; pwd; unshare -U true 2>&1; echo \"unshare=$?\"; cat /etc/resolv.conf; readlink /proc/self/ns/uts /proc/self/ns/ipc; } > \(output)"
        let spawned = try client.request(try Self.spawn(id, script, mounts: [shared.mount]))
        guard case .workloadSpawned(let parked) = spawned.message else {
            Issue.record("\(spawned.message)")
            return
        }
        // Parked: alive, and nothing of the script has run.
        usleep(200_000)
        #expect(kill(parked.pid, 0) == 0)
        #expect(!FileManager.default.fileExists(atPath: output))
        // Out of state: a second spawn is refused.
        if case .error(let error) = try client.request(try Self.spawn(id, "true")).message {
            #expect(error.code == "invalid_state")
        } else {
            Issue.record("a second SpawnWorkload was accepted")
        }

        #expect(try client.request(StartWorkload(cellID: id)).message == .workloadStarted(WorkloadStarted(cellID: id)))
        let exited = try client.nextExit()
        #expect(exited.sameOutcome(as: WorkloadExited(cellID: id, exitCode: 0, signal: nil)))
        // wait4's resource usage travels with the exit.
        #expect(exited.maxResidentKilobytes > 0)

        let report = try String(contentsOfFile: output, encoding: .utf8)
        let fields = Dictionary(report.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
        }, uniquingKeysWith: { first, _ in first })
        #expect(fields["Uid"]?.split(whereSeparator: \.isWhitespace).allSatisfy { $0 == "65534" } == true, "\(report)")
        #expect(fields["Gid"]?.split(whereSeparator: \.isWhitespace).allSatisfy { $0 == "65534" } == true)
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            #expect(fields[set] == "0000000000000000", "\(set) in \(report)")
        }
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
        #expect(report.contains("Operation not permitted"), "\(report)")
        #expect(report.contains("unshare=1"), "\(report)")
        // DNS only through the cell's resolver: the workload's own /etc/resolv.conf.
        #expect(report.contains("nameserver 127.0.0.1\n"), "\(report)")
        #expect(try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8) == hostResolvConf)
        // Its own UTS and IPC namespaces.
        for kind in ["uts", "ipc"] {
            let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(kind)")
            #expect(report.contains("\(kind):["), "\(report)")
            #expect(!report.contains(host), "\(kind) namespace shared with the host: \(report)")
        }
        #expect(report.contains("net:[\(cellNamespace.inode)]"), "\(report)")
        #expect(report.contains("env=work1"))
        #expect(report.contains("\n/tmp\n"))
        // A started workload cannot be started again.
        if case .error(let error) = try client.request(StartWorkload(cellID: id)).message {
            #expect(error.code == "invalid_state")
        } else {
            Issue.record("a second StartWorkload was accepted")
        }
    }

    /// Without the filter the same call works for an unprivileged user here, so the
    /// workload test's EPERM is the filter's doing.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func unprivilegedUserNamespacesWorkWithoutTheFilter() throws {
        try PrivilegedTest.requireRoot()
        let result = try Shell.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "-U", "true"])
        #expect(result.succeeded, "\(result.stderr)")
        let program = try BaselineSeccomp.compile()
        #expect(!program.isEmpty && program.count % 8 == 0)
    }

    /// A private tmpfs workspace (writes stay out of the host's directory) and
    /// resource limits (seen by the workload's shell).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func workspaceIsPrivateAndLimitsApply() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("work5")
        // Outside the workspace, writable by the workload's uid.
        let shared = try SharedDirectory("limits")
        let output = shared.file("limits.txt")
        let marker = "cellos-netnsd-workspace-\(getpid())"
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        let request = try SpawnWorkload(
            cellID: id, path: "/bin/sh",
            arguments: ["sh", "-c", "{ ulimit -n; ulimit -Hn; echo x > /tmp/\(marker) && echo wrote; stat -c '%U %a' /tmp; } > \(output)"],
            environment: ["PATH=/usr/bin:/bin"], uid: Self.nobody, gid: Self.nobody, workspace: "/tmp",
            limits: [try ResourceLimit(name: "nofile", soft: 48, hard: 64)], mounts: [shared.mount])
        guard case .workloadSpawned = try client.request(request).message else {
            Issue.record("spawn with workspace and limits failed")
            return
        }
        _ = try client.request(StartWorkload(cellID: id))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: id, exitCode: 0, signal: nil)))
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == ["48", "64", "wrote", "nobody 700"])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
        #expect(throws: WireError.invalidField(field: "limits", reason: "soft limit 9 is above hard limit 8")) {
            try ResourceLimit(name: "nofile", soft: 9, hard: 8)
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func startBeforeSpawnAndRootWorkloadsAreRefused() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("work2")
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        guard case .error(let early) = try client.request(StartWorkload(cellID: id)).message else {
            Issue.record("StartWorkload before SpawnWorkload was accepted")
            return
        }
        #expect(early.code == "invalid_state")
        // Without --allow-root-workloads, uid 0 and gid 0 are refused, with no workload left parked.
        for (uid, gid) in [(UInt32(0), Self.nobody), (Self.nobody, UInt32(0))] {
            guard case .error(let root) = try client.request(
                try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], uid: uid, gid: gid)).message else {
                Issue.record("a uid \(uid) gid \(gid) workload was accepted")
                return
            }
            #expect(root.code == "invalid_request")
            #expect(root.message.contains("--allow-root-workloads"), "\(root.message)")
        }
        #expect(daemon.children().isEmpty)
        // Another connection cannot start or signal this connection's workload.
        _ = try client.request(try Self.spawn(id, "sleep 30"))
        var other = try NetnsdClient.connect(path: daemon.socketPath)
        guard case .error(let foreign) = try other.request(StartWorkload(cellID: id)).message else {
            Issue.record("another connection started the workload")
            return
        }
        #expect(foreign.code == "unknown_cell")
    }

    /// With --allow-root-workloads a uid 0 / gid 0 workload runs, but as a root
    /// without capabilities: every set but the bounding set is empty, no_new_privs
    /// and the seccomp filter are on.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func rootWorkloadRunsWithoutCapabilitiesWhenAllowed() throws {
        try PrivilegedTest.requireRoot()
        // In-process, for a peer that is not root: the daemon refuses a workload
        // with the requesting peer's own uid.
        let exits = WorkloadProbe.Exits()
        let session = NetnsdSession(peer: PeerCredentials(pid: 1, uid: 990, gid: 990), exitSink: exits.sink, allowRootWorkloads: true)
        defer { session.destroyAll() }
        let id = try CellID("root1")
        _ = session.handle(NetnsdFrame.make(CreateCell(cellID: id, policy: try EgressPolicy()), requestID: 1))
        let script = "grep -E '^(Uid|Gid|CapInh|CapPrm|CapEff|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status"
        let request = try SpawnWorkload(
            cellID: id, path: "/bin/sh", arguments: ["sh", "-c", script], environment: ["PATH=/usr/bin:/bin"], uid: 0, gid: 0, stdio: true)
        let probe = try WorkloadProbe.run(request, in: session, exits: exits)
        #expect(probe.exit.sameOutcome(as: WorkloadExited(cellID: id, exitCode: 0, signal: nil)))
        let report = probe.stdout
        let fields = Dictionary(report.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
        }, uniquingKeysWith: { first, _ in first })
        #expect(fields["Uid"]?.split(whereSeparator: \.isWhitespace).allSatisfy { $0 == "0" } == true, "\(report)")
        #expect(fields["Gid"]?.split(whereSeparator: \.isWhitespace).allSatisfy { $0 == "0" } == true, "\(report)")
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            #expect(fields[set] == "0000000000000000", "\(set) in \(report)")
        }
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["Seccomp"] == "2")
    }

    /// The strict profile denies what the baseline allows: a netlink socket
    /// (`ip link`) and `personality` (`setarch -R`) fail with EPERM under
    /// `strict` and work under `baseline`; an AF_INET (UDP) socket works under both.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func strictSeccompDeniesWhatTheBaselineAllows() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let script = """
            err=$(/usr/sbin/ip link show lo 2>&1 >/dev/null); echo "netlink=$? $err"
            err=$(/usr/bin/setarch "$(uname -m)" -R /bin/true 2>&1); echo "personality=$? $err"
            err=$(exec 3<>/dev/udp/127.0.0.1/9 2>&1); echo "inet=$? $err"
            """
        func run(_ profile: SeccompProfile) throws -> String {
            let id = try CellID("sc-\(profile.name)")
            let shared = try SharedDirectory("seccomp-\(profile.name)")
            let output = shared.file("report.txt")
            _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
            let request = try SpawnWorkload(
                cellID: id, path: "/bin/bash", arguments: ["bash", "-c", "{ \(script); } > \(output)"],
                environment: ["PATH=/usr/bin:/bin"], uid: Self.nobody, gid: Self.nobody, seccompProfile: profile, mounts: [shared.mount])
            guard case .workloadSpawned = try client.request(request).message else {
                Issue.record("\(profile.name): spawn refused")
                return ""
            }
            _ = try client.request(StartWorkload(cellID: id))
            _ = try client.nextExit()
            _ = try client.request(DestroyCell(cellID: id))
            return try String(contentsOfFile: output, encoding: .utf8)
        }
        let baseline = try run(.baseline)
        #expect(baseline.contains("netlink=0 \n"), "\(baseline)")
        #expect(baseline.contains("personality=0 \n"), "\(baseline)")
        #expect(baseline.contains("inet=0 \n"), "\(baseline)")
        let strict = try run(.strict)
        #expect(strict.contains("netlink=1 ") && strict.contains("socket: Operation not permitted"), "\(strict)")
        #expect(strict.contains("failed to set personality") && strict.contains("Operation not permitted"), "\(strict)")
        #expect(strict.contains("inet=0 \n"), "\(strict)")
    }

    /// By default the workload is pid 1 of a new PID namespace: `$$`,
    /// and /proc/self/stat (its own /proc), say 1. Destroying the cell kills it
    /// and what it forked: no process is left in that namespace.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func pidNamespaceWorkloadIsPidOneAndDestroyEndsTheNamespace() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("pidns")
        let shared = try SharedDirectory("pidns")
        let output = shared.file("pid.txt")
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        // bash's `read` builtin opens /proc/self/stat in the shell itself (no fork).
        let script = "/bin/sleep 300 & read -r first rest < /proc/self/stat; echo \"pid=$$ stat=$first\" > \(output).tmp; mv \(output).tmp \(output); wait"
        let request = try SpawnWorkload(
            cellID: id, path: "/bin/bash", arguments: ["bash", "-c", script], environment: ["PATH=/usr/bin:/bin"],
            uid: Self.nobody, gid: Self.nobody, mounts: [shared.mount])
        guard case .workloadSpawned(let spawned) = try client.request(request).message else {
            Issue.record("spawn with a PID namespace refused")
            return
        }
        let hostNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        let namespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(spawned.pid)/ns/pid")
        #expect(namespace != hostNamespace)
        _ = try client.request(StartWorkload(cellID: id))
        let deadline = Monotonic.milliseconds() + 5000
        while !FileManager.default.fileExists(atPath: output) && Monotonic.milliseconds() < deadline { usleep(20_000) }
        let report = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(report == "pid=1 stat=1\n", "\(report)")
        func inNamespace() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { entry in
                Int32(entry) != nil && (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/ns/pid")) == namespace
            }
        }
        #expect(inNamespace().count == 2)  // bash (pid 1) and sleep
        #expect(try client.request(DestroyCell(cellID: id)).message == .cellDestroyed(CellDestroyed(cellID: id)))
        let gone = Monotonic.milliseconds() + 5000
        while !inNamespace().isEmpty && Monotonic.milliseconds() < gone { usleep(20_000) }
        #expect(inNamespace().isEmpty)
    }

    /// SignalWorkload reaches the workload (reported as the terminating signal),
    /// and destroying a cell kills a workload that is still parked.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func signalEndsTheWorkloadAndDestroyKillsAParkedOne() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("work3")
        _ = try client.request(CreateCell(cellID: id, policy: try EgressPolicy()))
        // Without a PID namespace: as pid 1 of its own, `sleep` (no handler) would
        // ignore SIGTERM, as every init does (docs/netnsd.md).
        _ = try client.request(try Self.spawn(id, "exec sleep 30", pidNamespace: false))
        _ = try client.request(StartWorkload(cellID: id))
        #expect(try client.request(try SignalWorkload(cellID: id, signal: SIGTERM)).message == .workloadSignalled(WorkloadSignalled(cellID: id)))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: id, exitCode: nil, signal: SIGTERM)))

        let parkedID = try CellID("work4")
        _ = try client.request(CreateCell(cellID: parkedID, policy: try EgressPolicy()))
        guard case .workloadSpawned(let parked) = try client.request(try Self.spawn(parkedID, "true")).message else {
            Issue.record("spawn failed")
            return
        }
        _ = try client.request(DestroyCell(cellID: parkedID))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: parkedID, exitCode: nil, signal: SIGKILL)))
        #expect(kill(parked.pid, 0) == -1 && errno == ESRCH)
    }
}

/// Workload cgroups in the machine's cgroup v2 hierarchy, under a directory the
/// test creates and removes.
@Suite(.serialized) struct WorkloadCgroupTests {
    static func v2Hierarchy() -> String? {
        ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].first { FileManager.default.fileExists(atPath: "\($0)/cgroup.kill") || FileManager.default.fileExists(atPath: "\($0)/cgroup.controllers") }
    }

    static func waitUntilGone(_ pids: [pid_t]) -> [pid_t] {
        let deadline = Monotonic.milliseconds() + 3000
        var alive = pids
        while !alive.isEmpty && Monotonic.milliseconds() < deadline {
            alive = alive.filter { kill($0, 0) == 0 }
            if !alive.isEmpty { usleep(20_000) }
        }
        return alive
    }

    /// A workload that exits while a process it forked keeps running: the
    /// leftover is killed with the workload's cgroup, and the leaf is removed.
    /// Destroying a cell kills its workload's whole tree the same way.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func nothingAWorkloadForkedOutlivesIt() throws {
        try PrivilegedTest.requireRoot()
        let hierarchy = try #require(Self.v2Hierarchy(), "no cgroup v2 hierarchy on this machine")
        // Prepared as an operator would: the daemon may create leaves in it.
        let root = "\(hierarchy)/cellos-netnsd-test-\(getpid())"
        try #require(mkdir(root, 0o755) == 0, "mkdir \(root): errno \(errno)")
        defer { rmdir(root) }
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0", "--cgroup-root", root])
        var client = try NetnsdClient.connect(path: daemon.socketPath)

        // 1. Exits at once, leaving a background sleep behind.
        let first = try CellID("cg1")
        _ = try client.request(CreateCell(cellID: first, policy: try EgressPolicy()))
        let firstSpawn = try client.request(try WorkloadTests.spawn(first, "sleep 30 & exit 0"))
        guard case .workloadSpawned(let parked) = firstSpawn.message else {
            Issue.record("spawn failed: \(firstSpawn.message)")
            return
        }
        let leaf = "\(root)/cell-cg1-\(parked.pid)"
        #expect(try String(contentsOfFile: "\(leaf)/cgroup.procs", encoding: .utf8).contains("\(parked.pid)"))
        _ = try client.request(StartWorkload(cellID: first))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: first, exitCode: 0, signal: nil)))
        let deadline = Monotonic.milliseconds() + 3000
        while FileManager.default.fileExists(atPath: leaf) && Monotonic.milliseconds() < deadline { usleep(20_000) }
        #expect(!FileManager.default.fileExists(atPath: leaf), "the leaf (and with it the background sleep) is gone")

        // 2. Destroyed while its children run: all of them end.
        let second = try CellID("cg2")
        _ = try client.request(CreateCell(cellID: second, policy: try EgressPolicy()))
        let secondSpawn = try client.request(try WorkloadTests.spawn(second, "sleep 30 & sleep 30 & wait"))
        guard case .workloadSpawned(let running) = secondSpawn.message else {
            Issue.record("spawn failed: \(secondSpawn.message)")
            return
        }
        _ = try client.request(StartWorkload(cellID: second))
        let tree = "\(root)/cell-cg2-\(running.pid)/cgroup.procs"
        var members: [pid_t] = []
        let treeDeadline = Monotonic.milliseconds() + 3000
        while members.count < 3 && Monotonic.milliseconds() < treeDeadline {
            members = ((try? String(contentsOfFile: tree, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
            if members.count < 3 { usleep(20_000) }
        }
        #expect(members.count == 3, "sh and its two sleeps: \(members)")
        _ = try client.request(DestroyCell(cellID: second))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: second, exitCode: nil, signal: SIGKILL)))
        #expect(Self.waitUntilGone(members).isEmpty)
        #expect(daemon.terminate() == 0)
    }

    /// With `stdio`, the three descriptors in the SpawnWorkload frame become the
    /// workload's 0, 1 and 2: it reads what the client wrote to its stdin pipe and
    /// its stdout and stderr reach the client's pipes (and nothing else holds them:
    /// both read ends see EOF once the workload exited).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func stdioDescriptorsBecomeTheWorkloadsStdio() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("stdio1")
        guard case .cellCreated = try client.request(CreateCell(cellID: id, policy: try EgressPolicy())).message else {
            Issue.record("create failed")
            return
        }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        let stdio = DescriptorSet(adopting: [
            dup(stdin.fileHandleForReading.fileDescriptor), dup(stdout.fileHandleForWriting.fileDescriptor),
            dup(stderr.fileHandleForWriting.fileDescriptor),
        ])
        try stdin.fileHandleForReading.close()
        try stdout.fileHandleForWriting.close()
        try stderr.fileHandleForWriting.close()
        let request = try SpawnWorkload(
            cellID: id, path: "/bin/sh", arguments: ["sh", "-c", "read line; echo \"out:$line\"; echo err >&2; exit 7"],
            environment: ["PATH=/usr/bin:/bin"], uid: WorkloadTests.nobody, gid: WorkloadTests.nobody, stdio: true)
        guard case .workloadSpawned = try client.request(request, descriptors: stdio).message else {
            Issue.record("spawn failed")
            return
        }
        stdin.fileHandleForWriting.write(Data("hello\n".utf8))
        try stdin.fileHandleForWriting.close()
        #expect(try client.request(StartWorkload(cellID: id)).message == .workloadStarted(WorkloadStarted(cellID: id)))
        #expect(try client.nextExit().sameOutcome(as: WorkloadExited(cellID: id, exitCode: 7, signal: nil)))
        #expect(String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "out:hello\n")
        #expect(String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "err\n")
        #expect(try client.request(DestroyCell(cellID: id)).message == .cellDestroyed(CellDestroyed(cellID: id)))
    }

    /// A frame whose SpawnWorkload says `stdio` but carries no descriptors is refused.
    @Test func stdioWithoutDescriptorsIsRefused() throws {
        let request = try SpawnWorkload(cellID: try CellID("s"), path: "/bin/true", arguments: ["true"], uid: 1, gid: 1, stdio: true)
        #expect(request.descriptorCount == 3)
        var writer = WireWriter()
        request.encode(to: &writer)
        let header = FrameHeader(messageType: MessageType.spawnWorkload.rawValue, descriptorCount: 0, requestID: 1, payloadLength: writer.bytes.count)
        #expect(throws: WireError.descriptorCountMismatch(declared: 3, received: 0)) {
            _ = try NetnsdFrame.decode(header: header, payload: writer.bytes, descriptorCount: 0)
        }
    }
}

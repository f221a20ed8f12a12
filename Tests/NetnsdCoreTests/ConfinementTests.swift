import CellosTestLab
import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// The workload's confinement layers, one test each, against a real daemon (or an
/// in-process session where a test lowers what the kernel offers): seccomp's
/// cross-process denials, setsid, the PID namespace, the filesystem view and its
/// mounts, empty capability sets, Landlock.
@Suite(.serialized) struct ConfinementTests {
    static let nobody: UInt32 = 65534

    static func request(
        _ id: CellID, _ arguments: [String], uid: UInt32 = nobody, pidNamespace: Bool = true, filesystemView: Bool = true,
        mounts: [BindMount] = [], workspace: String? = nil
    ) throws -> SpawnWorkload {
        try SpawnWorkload(
            cellID: id, path: arguments[0], arguments: arguments, environment: ["PATH=/usr/bin:/bin"], workingDirectory: "/",
            uid: uid, gid: uid, workspace: workspace, stdio: true, pidNamespace: pidNamespace, filesystemView: filesystemView,
            mounts: mounts)
    }

    /// One workload in a fresh cell of a fresh daemon.
    static func run(_ arguments: [String], daemonArguments: [String] = [], _ configure: (CellID) throws -> SpawnWorkload) throws -> WorkloadProbe {
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"] + daemonArguments)
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("conf")
        guard case .cellCreated = try client.request(CreateCell(cellID: id, policy: try EgressPolicy())).message else {
            throw WorkloadProbe.Refused(reply: ErrorReply(code: "create", message: "CreateCell failed"))
        }
        defer { _ = try? client.request(DestroyCell(cellID: id)) }
        return try WorkloadProbe.run(try configure(id), via: &client)
    }

    static func sh(_ script: String, uid: UInt32 = nobody, daemonArguments: [String] = [], pidNamespace: Bool = true,
                   filesystemView: Bool = true, mounts: [BindMount] = []) throws -> WorkloadProbe {
        try run([], daemonArguments: daemonArguments) { id in
            try request(id, ["/bin/sh", "-c", script], uid: uid, pidNamespace: pidNamespace, filesystemView: filesystemView, mounts: mounts)
        }
    }

    /// Python via ctypes: pidfd_getfd, process_vm_readv/writev and kcmp on a
    /// child the workload can see (same uid, its descendant) fail with EPERM, and
    /// so does the TIOCSTI ioctl.
    static let crossProcessProbe = #"""
        import ctypes, errno, os, platform, subprocess
        numbers = {"x86_64": dict(pidfd_open=434, pidfd_getfd=438, process_vm_readv=310, process_vm_writev=311, kcmp=312),
                   "aarch64": dict(pidfd_open=434, pidfd_getfd=438, process_vm_readv=270, process_vm_writev=271, kcmp=272)}[platform.machine()]
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        child = subprocess.Popen(["/bin/sleep", "5"])
        def call(name, *args):
            result = libc.syscall(numbers[name], *[ctypes.c_long(a) for a in args])
            return "ok" if result >= 0 else errno.errorcode[ctypes.get_errno()]
        pidfd = libc.syscall(numbers["pidfd_open"], child.pid, 0)
        class iovec(ctypes.Structure): _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
        buffer = ctypes.create_string_buffer(8)
        local = iovec(ctypes.cast(buffer, ctypes.c_void_p), 8)
        print("pidfd_getfd", call("pidfd_getfd", pidfd, 0, 0))
        print("process_vm_readv", call("process_vm_readv", child.pid, ctypes.addressof(local), 1, ctypes.addressof(local), 1, 0))
        print("process_vm_writev", call("process_vm_writev", child.pid, ctypes.addressof(local), 1, ctypes.addressof(local), 1, 0))
        print("kcmp", call("kcmp", os.getpid(), child.pid, 0, 0, 0))
        import fcntl, termios
        try:
            fcntl.ioctl(0, termios.TIOCSTI, b"x"); print("tiocsti ok")
        except OSError as error:
            print("tiocsti", errno.errorcode[error.errno])
        child.kill()
        """#

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func seccompDeniesReachingIntoAnotherProcess() throws {
        try PrivilegedTest.requireRoot()
        let probe = try Self.run([]) { id in try Self.request(id, ["/usr/bin/python3", "-c", Self.crossProcessProbe]) }
        let results = Dictionary(probe.stdout.split(separator: "\n").map { line in
            let parts = line.split(separator: " ")
            return (String(parts[0]), String(parts.last ?? ""))
        }, uniquingKeysWith: { first, _ in first })
        // TIOCSTI on stdin (a pipe here): ENOTTY without the filter's rule.
        for call in ["pidfd_getfd", "process_vm_readv", "process_vm_writev", "kcmp", "tiocsti"] {
            #expect(results[call] == "EPERM", "\(call): \(probe.stdout) \(probe.stderr)")
        }
        #expect(probe.spawned.layer("seccomp")?.applied == true)
    }

    /// The workload leads its own session: its sid is its pid (here the host's
    /// pid, without a PID namespace, so it is not just "1 in its own namespace").
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func workloadLeadsItsOwnSession() throws {
        try PrivilegedTest.requireRoot()
        // bash's `read` opens /proc/self/stat in the shell itself (no fork); field 6 is the session.
        let probe = try Self.run([]) { id in
            try Self.request(id, ["/bin/bash", "-c", "read -r pid comm state ppid pgrp sid rest < /proc/self/stat; echo \"$pid $sid\""], pidNamespace: false)
        }
        #expect(probe.stdout == "\(probe.spawned.pid) \(probe.spawned.pid)\n", "\(probe.stdout) \(probe.stderr)")
        #expect(probe.spawned.layer("new_session")?.applied == true)
    }

    /// By default the workload is pid 1 of its own PID namespace and its /proc
    /// lists only its own processes.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func defaultWorkloadSeesOnlyItsOwnProcesses() throws {
        try PrivilegedTest.requireRoot()
        // Shell builtins only: no other process of its own exists while it lists /proc.
        let probe = try Self.sh("echo \"pid $$\"; for entry in /proc/[0-9]*; do echo \"${entry#/proc/}\"; done")
        #expect(probe.stdout == "pid 1\n1\n", "\(probe.stdout) \(probe.stderr)")
        #expect(probe.spawned.layer("pid_namespace")?.applied == true)
    }

    /// The view: /tmp is private (nothing written there reaches the host), host
    /// UNIX sockets under /tmp and /run are unreachable, /etc and / are read-only, the
    /// symlinked /bin (merged /usr) and python3 work.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func viewHidesTheHostsTree() throws {
        try PrivilegedTest.requireRoot()
        let marker = "cellos-view-\(getpid())"
        let sockets = ["/tmp/\(marker).sock", "/run/\(marker).sock"]
        var listeners: [Int32] = []
        defer {
            for fd in listeners { close(fd) }
            for path in sockets { unlink(path) }
            unlink("/tmp/\(marker)")
        }
        for path in sockets { listeners.append(try Self.listen(at: path)) }
        let script = """
            import os, socket
            try:
                open("/tmp/\(marker)", "w").write("x"); print("tmp written")
            except OSError as error:
                print("tmp", error.strerror)
            for path in \(sockets):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path); print("connected", path)
                except OSError as error:
                    print("refused", path, error.strerror)
            for directory in ["etc", "root"]:
                try:
                    open(("/etc/" if directory == "etc" else "/") + "\(marker)", "w")
                except OSError as error:
                    print(directory, error.strerror)
            """
        let probe = try Self.run([]) { id in try Self.request(id, ["/bin/python3", "-c", script]) }
        #expect(probe.exit.exitCode == 0, "\(probe.stderr)")
        for path in sockets { #expect(probe.stdout.contains("refused \(path) No such file or directory"), "\(probe.stdout) \(probe.stderr)") }
        #expect(probe.stdout.contains("etc Read-only file system"), "\(probe.stdout)")
        // The new root itself: read-only once built (the child, uid 0, could write it before).
        #expect(probe.stdout.contains("root Read-only file system"), "\(probe.stdout)")
        #expect(probe.stdout.contains("tmp written"), "\(probe.stdout)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
        let view = try #require(probe.spawned.layer("filesystem_view"))
        #expect(view.applied, "\(view)")
    }

    /// `mounts`: a read-write bind is writable and what the workload writes is on
    /// the host; a read-only bind is not writable; a missing source is refused
    /// before anything runs, naming `mounts[0].source`.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func mountsBindHostPaths() throws {
        try PrivilegedTest.requireRoot()
        let base = "/var/tmp/cellos-mounts-\(getpid())"
        try FileManager.default.createDirectory(atPath: "\(base)/rw", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        try FileManager.default.createDirectory(atPath: "\(base)/ro", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        defer { try? FileManager.default.removeItem(atPath: base) }
        let mounts = [try BindMount(source: "\(base)/rw", target: "/data/out", writable: true),
                      try BindMount(source: "\(base)/ro", target: "/data/in", writable: false)]
        let probe = try Self.sh("echo hello > /data/out/file && echo wrote; echo x > /data/in/file", mounts: mounts)
        #expect(probe.stdout == "wrote\n", "\(probe.stdout) \(probe.stderr)")
        #expect(probe.stderr.contains("Read-only file system"), "\(probe.stderr)")
        #expect(try String(contentsOfFile: "\(base)/rw/file", encoding: .utf8) == "hello\n")
        #expect(!FileManager.default.fileExists(atPath: "\(base)/ro/file"))

        let missing = [try BindMount(source: "\(base)/absent", target: "/data", writable: false)]
        #expect {
            _ = try Self.sh("true", mounts: missing)
        } throws: { error in
            guard let refused = error as? WorkloadProbe.Refused else { return false }
            return refused.reply.code == "invalid_request" && refused.reply.message.contains("mounts[0].source '\(base)/absent'")
        }
    }

    /// A `mounts` source is resolved with the client's ids, not the daemon's: a
    /// client that may not search a directory cannot bind what lies beneath it
    /// (the spawn fails naming the source), while a path it can reach is bound.
    /// In-process, with a peer that is not root.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func mountSourcesAreResolvedAsTheClient() throws {
        try PrivilegedTest.requireRoot()
        let base = "/var/tmp/cellos-client-mounts-\(getpid())"
        for (path, mode) in [(base, 0o755), ("\(base)/open", 0o755), ("\(base)/private", 0o700), ("\(base)/private/data", 0o755)] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: mode])
        }
        defer { try? FileManager.default.removeItem(atPath: base) }
        try "reachable\n".write(toFile: "\(base)/open/file", atomically: true, encoding: .utf8)
        try "secret\n".write(toFile: "\(base)/private/data/file", atomically: true, encoding: .utf8)
        let exits = WorkloadProbe.Exits()
        let session = NetnsdSession(peer: PeerCredentials(pid: 1, uid: 990, gid: 990), exitSink: exits.sink)
        defer { session.destroyAll() }
        func probe(_ name: String, _ source: String) throws -> WorkloadProbe {
            let id = try CellID(name)
            _ = session.handle(NetnsdFrame.make(CreateCell(cellID: id, policy: try EgressPolicy()), requestID: 1))
            return try WorkloadProbe.run(
                try Self.request(id, ["/bin/cat", "/data/file"], mounts: [try BindMount(source: source, target: "/data", writable: false)]),
                in: session, exits: exits)
        }
        let reachable = try probe("clientopen", "\(base)/open")
        #expect(reachable.stdout == "reachable\n", "\(reachable.stdout) \(reachable.stderr)")
        #expect {
            _ = try probe("clientprivate", "\(base)/private/data")
        } throws: { error in
            guard let refused = error as? WorkloadProbe.Refused else { return false }
            return refused.reply.code == "setup_failed" && refused.reply.message.contains("\(base)/private/data")
                && refused.reply.message.contains("client's uid/gid")
        }
    }

    /// Bounding, inheritable and ambient sets are empty, for a uid 65534 and for a
    /// root workload (`--allow-root-workloads`). In-process, with a peer that is
    /// not root: the daemon refuses a workload with the peer's own uid.
    @Test(.enabled(if: PrivilegedTest.shouldRun), arguments: [UInt32(65534), 0])
    func capabilitySetsAreEmpty(uid: UInt32) throws {
        try PrivilegedTest.requireRoot()
        let exits = WorkloadProbe.Exits()
        let session = NetnsdSession(peer: PeerCredentials(pid: 1, uid: 990, gid: 990), exitSink: exits.sink, allowRootWorkloads: true)
        defer { session.destroyAll() }
        let id = try CellID("caps\(uid)")
        _ = session.handle(NetnsdFrame.make(CreateCell(cellID: id, policy: try EgressPolicy()), requestID: 1))
        let probe = try WorkloadProbe.run(
            try Self.request(id, ["/bin/sh", "-c", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status"], uid: uid), in: session, exits: exits)
        let lines = probe.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(probe.stdout) \(probe.stderr)")
        for line in lines { #expect(line.hasSuffix("\t0000000000000000"), "\(line)") }
        #expect(probe.spawned.uid == uid && probe.spawned.layer("capabilities")?.applied == true)
    }

    /// Landlock on its own (the view off): a write outside the workspace fails
    /// with EACCES, and from ABI 6 a signal to a process outside the domain (same
    /// uid, visible without a PID namespace) fails with EPERM. With the session's
    /// Landlock ABI lowered to 0 (no Landlock) both succeed: it is Landlock's doing.
    @Test(.enabled(if: PrivilegedTest.shouldRun && LandlockRules.detectedABI >= 6))
    func landlockLimitsWritesAndSignals() throws {
        try PrivilegedTest.requireRoot()
        let target = "/var/tmp/cellos-landlock-\(getpid())"
        let workspace = "/var/tmp/cellos-landlock-ws-\(getpid())"
        try #require(mkdir(workspace, 0o755) == 0)
        defer {
            unlink(target)
            rmdir(workspace)
        }
        let sleeper = try Shell.start(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "sleep", "30"])
        defer {
            kill(sleeper.processIdentifier, SIGKILL)
            sleeper.waitUntilExit()
        }
        let outsider = sleeper.processIdentifier
        // Only once it runs as 65534 is an EPERM below Landlock's and not the kernel's uid check.
        let deadline = Date().addingTimeInterval(5)
        while !((try? String(contentsOfFile: "/proc/\(outsider)/status", encoding: .utf8))?.contains("Uid:\t65534\t") ?? false), Date() < deadline {
            usleep(5_000)
        }
        func attempt(abi: Int) throws -> WorkloadProbe {
            let exits = WorkloadProbe.Exits()
            let session = NetnsdSession(peer: PeerCredentials(pid: 1, uid: 0, gid: 0), exitSink: exits.sink)
            session.landlockABI = abi
            defer { session.destroyAll() }
            let id = try CellID("ll\(abi)")
            _ = session.handle(NetnsdFrame.make(CreateCell(cellID: id, policy: try EgressPolicy()), requestID: 1))
            unlink(target)
            let script = "echo x > \(target) && echo wrote; kill -0 \(outsider) && echo signalled; echo y > \(workspace)/file && echo workspace"
            return try WorkloadProbe.run(
                try Self.request(id, ["/bin/sh", "-c", script], pidNamespace: false, filesystemView: false, workspace: workspace),
                in: session, exits: exits)
        }
        let confined = try attempt(abi: LandlockRules.detectedABI)
        #expect(confined.stdout == "workspace\n", "\(confined.stdout) \(confined.stderr)")
        #expect(confined.stderr.contains("Permission denied"), "\(confined.stderr)")
        #expect(confined.stderr.contains("Operation not permitted"), "\(confined.stderr)")
        #expect(confined.spawned.layer("landlock")?.applied == true)
        let unconfined = try attempt(abi: 0)
        #expect(unconfined.stdout == "wrote\nsignalled\nworkspace\n", "\(unconfined.stdout) \(unconfined.stderr)")
        #expect(unconfined.spawned.layer("landlock") == ConfinementLayer(name: "landlock", applied: false, detail: "not supported by this kernel"))
    }

    /// `ctl run` has the wire's defaults (PID namespace, view) and prints the
    /// report; `--mount SRC:DST:rw` binds, `--no-pid-namespace` and
    /// `--no-filesystem-view` opt out explicitly; a bad `--mount` is named.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func ctlRunConfinesByDefault() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        let shared = try SharedDirectory("ctl")
        let ctl = [BuiltExecutable.netnsd, "ctl", "run", "--socket", daemon.socketPath]
        let confined = try Shell.run(ctl + ["--id", "ctl1", "--mount", "\(shared.path):/out:rw", "--", "/bin/sh", "-c", "echo $$ > /out/pid"])
        #expect(confined.succeeded, "\(confined.stdout) \(confined.stderr)")
        for layer in ConfinementLayer.names { #expect(confined.stdout.contains("  \(layer): applied, "), "\(layer): \(confined.stdout)") }
        #expect(try String(contentsOfFile: shared.file("pid"), encoding: .utf8) == "1\n")
        let optedOut = try Shell.run(ctl + ["--id", "ctl2", "--no-pid-namespace", "--no-filesystem-view", "--", "/bin/true"])
        #expect(optedOut.stdout.contains("pid_namespace: not applied, opted out"), "\(optedOut.stdout)")
        #expect(optedOut.stdout.contains("filesystem_view: not applied, opted out"), "\(optedOut.stdout)")
        let bad = try Shell.run(ctl + ["--id", "ctl3", "--mount", "relative:/x", "--", "/bin/true"])
        #expect(!bad.succeeded && bad.stderr.contains("--mount[0].source"), "\(bad.stderr)")
    }

    /// A stream listener at `path` that anyone may connect to (mode 0777).
    static func listen(at path: String) throws -> Int32 {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, chmod(path, 0o777) == 0, Glibc.listen(fd, 4) == 0 else {
            close(fd)
            throw SystemCallError("bind/listen", context: path)
        }
        return fd
    }
}

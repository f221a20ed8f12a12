#if canImport(Glibc)
import Glibc
#endif
import CNetnsdShim
import CShim
import IPCWire

/// A cell's workload process: forked, confined and parked before `execve` by
/// `cellos_netnsd_spawn_parked` (C, because the daemon is multi-threaded and no
/// Swift may run between fork and execve), released by `start()`.
final class ParkedWorkload: @unchecked Sendable {
    // @unchecked: `startPipe` is only touched under the owning session's lock.
    let pid: pid_t
    /// It is pid 1 of its own PID namespace: when it ends, the kernel has ended
    /// everything else in there before its parent can reap it.
    let ownsPIDNamespace: Bool
    private var startPipe: OwnedFD?

    private init(pid: pid_t, ownsPIDNamespace: Bool, startPipe: consuming OwnedFD) {
        self.pid = pid
        self.ownsPIDNamespace = ownsPIDNamespace
        self.startPipe = .some(startPipe)
    }

    static let stepNames = [
        1: "setns(CLONE_NEWNET)", 2: "setgroups", 3: "setresgid", 4: "setresuid", 5: "prctl(PR_SET_NO_NEW_PRIVS)",
        6: "chdir", 7: "dup2 of stdio", 8: "close_range", 9: "prctl(PR_SET_SECCOMP)",
        10: "unshare(CLONE_NEWNS|CLONE_NEWIPC|CLONE_NEWUTS)", 11: "mount(MS_REC|MS_PRIVATE, /)", 12: "bind mount over /etc/resolv.conf",
        13: "mount(tmpfs) on the workspace", 14: "setrlimit", 15: "capset (empty sets)", 16: "mount(proc) for the PID namespace",
        17: "mount(tmpfs) of the new root", 18: "pivot_root into the new root", 19: "remounting the new root read-only", 20: "setsid",
        21: "prctl(PR_CAPBSET_DROP)", 22: "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", 23: "landlock_create_ruleset",
        24: "open(O_PATH) of a Landlock rule's path", 25: "landlock_add_rule", 26: "landlock_restrict_self",
        27: "prctl(PR_SET_PDEATHSIG)",
    ]

    /// The failed step's name; view steps (1000 + index) name their path.
    static func stepName(_ step: Int, view: FilesystemView?) -> String {
        if step >= 1000, let steps = view?.steps, step - 1000 < steps.count {
            let failed = steps[step - 1000]
            let path = "/" + (failed.parent.isEmpty ? failed.name : failed.parent + "/" + failed.name)
            let what = [CELLOS_VIEW_MKDIR: "mkdir", CELLOS_VIEW_MKFILE: "creating the file", CELLOS_VIEW_SYMLINK: "symlink",
                        CELLOS_VIEW_BIND: "bind mount of \(failed.source) on",
                        CELLOS_VIEW_CLIENT_BIND: "bind mount (resolved with the client's uid/gid) of the mounts source \(failed.source) on",
                        CELLOS_VIEW_TMPFS: "mount(tmpfs) on",
                        CELLOS_VIEW_PROC: "mount(proc) on", CELLOS_VIEW_OWNED_DIR: "mkdir (as the workload)",
                        CELLOS_VIEW_SECRET: "writing the secret file"][failed.op] ?? "view step"
            return "filesystem view: \(what) \(path)"
        }
        return stepNames[step] ?? "fork"
    }

    /// Forks the workload of `request` into the netns `namespace` and returns once
    /// it is parked; a failed setup step is named in the error. `stdio` (three raw
    /// descriptors the caller keeps open until this returns) become 0-2; nil means /dev/null.
    /// `resolvConf` (the cell's, see `ResolvConf`) is bind-mounted read-only over
    /// /etc/resolv.conf in the child's private mount namespace (or view).
    static func spawn(
        _ request: SpawnWorkload, as identity: WorkloadIdentity, in namespace: borrowing OwnedFD, resolvConf: String,
        confinement: ChildConfinement, seccompFilter: [UInt8], stdio: [Int32]? = nil
    ) throws(CellError) -> ParkedWorkload {
        var fds: [Int32] = [-1, -1]
        guard cellos_pipe_cloexec(&fds) == 0 else {
            throw .setupFailed(cell: request.cellID.value, step: "creating the start pipe", reason: "\(SystemCallError("pipe2"))")
        }
        let readEnd = OwnedFD(adopting: fds[0])
        let writeEnd = OwnedFD(adopting: fds[1])
        var failedStep: Int32 = 0
        let limits = request.limits.map { cellos_netnsd_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        // A small private tmpfs owned by the workload (options built here: the child must not format strings).
        let workspaceOptions = FilesystemView.workspaceOptions(identity)
        let pid = confinement.withUnsafePointer { childConfinement in withCStringArray(request.arguments) { argv in
            withCStringArray(request.environment) { envp in
                seccompFilter.withUnsafeBytes { filter in
                    limits.withUnsafeBufferPointer { limitBuffer in
                        withOptionalBuffer(stdio) { stdioFDs in
                            cellos_netnsd_spawn_parked(
                                namespace.rawValue, resolvConf, request.workspace, workspaceOptions, limitBuffer.baseAddress,
                                limitBuffer.count, request.path, argv, envp, request.workingDirectory, identity.uid, identity.gid,
                                stdioFDs, readEnd.rawValue, filter.baseAddress, filter.count, request.pidNamespace ? 1 : 0,
                                childConfinement, &failedStep)
                        }
                    }
                }
            }
        } }
        guard pid > 0 else {
            let error = SystemCallError(stepName(Int(failedStep), view: confinement.view), context: request.path)
            throw .setupFailed(cell: request.cellID.value, step: "spawning the workload", reason: "\(error)")
        }
        readEnd.close()
        return ParkedWorkload(pid: pid, ownsPIDNamespace: request.pidNamespace, startPipe: writeEnd)
    }

    /// Releases the parked workload into `execve`. Only once.
    func start() throws(SystemCallError) {
        guard let pipe = startPipe.take() else { throw SystemCallError("start", errno: EALREADY) }
        var go: UInt8 = 1
        let written = retryingOnInterrupt { write(pipe.rawValue, &go, 1) }
        guard written == 1 else { throw SystemCallError("write(start pipe)", context: "pid \(pid)") }
    }

    func signal(_ signal: Int32) throws(SystemCallError) {
        try systemCall("kill", context: "pid \(pid) signal \(signal)") { kill(pid, signal) }
    }

    /// What `wait4` reports about an ended workload.
    struct Outcome {
        var exitCode: Int32?
        var signal: Int32?
        var userMicroseconds: UInt64 = 0
        var systemMicroseconds: UInt64 = 0
        var maxResidentKilobytes: UInt64 = 0
    }

    /// Blocks until the workload ends; exit code or signal (one of them nil) and
    /// its resource usage (`wait4`).
    func waitForExit() -> Outcome {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            if errno != EINTR { return Outcome(exitCode: nil, signal: SIGKILL) }
        }
        func microseconds(_ time: timeval) -> UInt64 { UInt64(max(0, time.tv_sec)) * 1_000_000 + UInt64(max(0, time.tv_usec)) }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        let exited = status & 0x7F == 0
        return Outcome(
            exitCode: exited ? (status >> 8) & 0xFF : nil, signal: exited ? nil : status & 0x7F,
            userMicroseconds: microseconds(usage.ru_utime), systemMicroseconds: microseconds(usage.ru_stime),
            maxResidentKilobytes: UInt64(max(0, usage.ru_maxrss)))
    }
}

/// A pointer to `values`' elements, or NULL for nil, for the duration of `body`.
func withOptionalBuffer<R>(_ values: [Int32]?, _ body: (UnsafePointer<Int32>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// A NULL-terminated `char *[]` for the duration of `body` (made before fork: the
/// child must not allocate). The copies are zeroed before they are freed: the
/// environment may hold `as: env` secrets (the `String`s they came from are
/// Swift's and cannot be wiped, see docs/security.md).
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer {
        for pointer in pointers {
            if let pointer { explicit_bzero(pointer, strlen(pointer)) }
            free(pointer)
        }
    }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// The resolv.conf a workload sees: the cell's resolver, nothing else.
enum ResolvConf {
    static let directory = "/run/cellos-netnsd"

    static func write(_ resolver: ResolverAddress) throws(SystemCallError) -> String {
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw SystemCallError("mkdir", context: directory) }
        var template = Array("\(directory)/resolv-XXXXXX".utf8CString)
        let fd = try systemCall("mkstemp", context: directory) { template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) } }
        let path = String(cString: template)
        defer { close(fd) }
        // glibc's resolver always uses port 53; a resolver on another port is
        // reachable only by clients that are told the port some other way.
        let text = Array("nameserver \(resolver.address)\noptions edns0\n".utf8)
        let written = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == text.count else {
            unlink(path)
            throw SystemCallError("write", context: path)
        }
        fchmod(fd, 0o644)
        return path
    }
}

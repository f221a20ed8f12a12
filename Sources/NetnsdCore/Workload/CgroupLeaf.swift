#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Where workload cgroups are made: an existing directory in a cgroup v2
/// hierarchy (`--cgroup-root`), one leaf per workload beneath it, plus where
/// each limit's controller lives (`CgroupControllers`, discovered at startup).
/// The operator prepares the root (a delegated subtree, writable by uid 0
/// through its owner bits): the daemon holds no CAP_DAC_OVERRIDE, so it cannot
/// create it in a read-only cgroup root itself.
public struct CgroupSettings: Sendable {
    public let root: String
    public let controllers: CgroupControllers
    /// What `prepare` swept of the leaves an earlier daemon left behind.
    let staleLeaves: StaleLeafSweep.Result
    /// The startup log line about them; nil when there were none.
    public var staleLeafSummary: String? { staleLeaves.summary }

    public init(root: String, controllers: CgroupControllers) {
        self.init(root: root, controllers: controllers, staleLeaves: StaleLeafSweep.Result())
    }

    init(root: String, controllers: CgroupControllers, staleLeaves: StaleLeafSweep.Result) {
        self.root = root
        self.controllers = controllers
        self.staleLeaves = staleLeaves
    }

    /// Checks `root` is a cgroup v2 directory, discovers the controllers (which
    /// may enable some in the root's `cgroup.subtree_control`) and kills and
    /// removes the leaves an earlier daemon left (`StaleLeafSweep`).
    public static func prepare(root: String) throws(SystemCallError) -> CgroupSettings {
        try validate(root: root)
        let controllers = CgroupControllers.discover(v2Root: root)
        let swept = StaleLeafSweep.sweep(v2Root: root, v1Directories: StaleLeafSweep.v1Directories(controllers: controllers))
        return CgroupSettings(root: root, controllers: controllers, staleLeaves: swept)
    }

    /// Checks the root is a cgroup v2 directory (it has `cgroup.procs` and `cgroup.kill`).
    public static func validate(root: String) throws(SystemCallError) {
        for file in ["cgroup.procs", "cgroup.kill"] where access("\(root)/\(file)", F_OK) != 0 {
            throw SystemCallError("access", context: "\(root)/\(file) (--cgroup-root must be an existing cgroup v2 directory)")
        }
    }
}

/// One cgroup directory of a workload: its v2 leaf (the workload joins it while
/// parked, so every process it ever forks is inside; `cgroup.kill` ends all of
/// them at once) or one of its v1 leaves (limits only).
final class CgroupLeaf: Sendable {
    enum Version: Sendable { case v2, v1 }

    let path: String
    let version: Version

    private init(path: String, version: Version) {
        self.path = path
        self.version = version
    }

    /// A leaf that already exists (one an earlier daemon left, for the restart sweep).
    static func existing(at path: String, version: Version) -> CgroupLeaf {
        CgroupLeaf(path: path, version: version)
    }

    static func create(at path: String, version: Version) throws(SystemCallError) -> CgroupLeaf {
        try systemCall("mkdir", context: path) { mkdir(path, 0o755) }
        return CgroupLeaf(path: path, version: version)
    }

    func add(_ pid: pid_t) throws(SystemCallError) {
        try Self.write("\(pid)\n", to: "\(path)/cgroup.procs")
    }

    /// SIGKILL to every process in the leaf (`cgroup.kill`, v2 only, Linux 5.14+).
    func killAll() {
        guard version == .v2 else { return }
        try? Self.write("1\n", to: "\(path)/cgroup.kill")
    }

    /// Removes the leaf once its last process is gone, waiting at most
    /// `timeoutMilliseconds` (v2: `populated 0` in cgroup.events; v1, which has
    /// no such file: an empty cgroup.procs, and rmdir retried while EBUSY).
    /// Whether the leaf is gone (so was every process in it).
    @discardableResult
    func remove(timeoutMilliseconds: Int = 2000) -> Bool {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while isPopulated && Monotonic.milliseconds() < deadline { usleep(5_000) }
        while rmdir(path) != 0 {
            let error = errno
            if error == ENOENT { return true }
            guard error == EBUSY, Monotonic.milliseconds() < deadline else {
                NetnsdLog.write("cannot remove cgroup \(path): \(SystemCallError("rmdir", errno: error, context: path))", priority: .warning)
                return false
            }
            usleep(5_000)
        }
        return true
    }

    private var isPopulated: Bool {
        switch version {
        case .v2: (try? Self.read("\(path)/cgroup.events"))?.contains("populated 1") == true
        case .v1: !processes.isEmpty
        }
    }

    var processes: [pid_t] {
        ((try? Self.read("\(path)/cgroup.procs")) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    /// One write(2) of `text` (cgroup files take one value per write). `append`
    /// opens with O_APPEND, which cgroupfs ignores and a plain file (tests) honours.
    static func write(_ text: String, to path: String, append: Bool = false) throws(SystemCallError) {
        let fd = try OwnedFD.open(path, O_WRONLY | (append ? O_APPEND : 0))
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { raw in retryingOnInterrupt { Glibc.write(fd.rawValue, raw.baseAddress, raw.count) } }
        guard written == bytes.count else { throw SystemCallError("write", context: "\(path) ← \(text.split(separator: "\n").first ?? "")") }
    }

    /// The whole file (up to 4 MiB: a host with thousands of mounts has a
    /// mountinfo well past 64 KiB; cgroup files fit in the first read).
    static func read(_ path: String) throws(SystemCallError) -> String {
        let limit = 4 << 20
        let bytes: [UInt8]
        do { bytes = try OwnedFD.open(path, O_RDONLY).readAll(limit: limit + 1) } catch {
            throw SystemCallError(error.call, errno: error.errno, context: path)
        }
        guard bytes.count <= limit else { throw SystemCallError("read", errno: EFBIG, context: path) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Where workload cgroups are made: an existing directory in a cgroup v2
/// hierarchy (`--cgroup-root`), one leaf per workload beneath it. The operator
/// prepares it (a delegated subtree, writable by uid 0 through its owner bits):
/// the daemon holds no CAP_DAC_OVERRIDE, so it cannot create it in a read-only
/// cgroup root itself.
public struct CgroupSettings: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// Checks the root is a cgroup v2 directory (it has `cgroup.procs` and `cgroup.kill`).
    public func validate() throws(SystemCallError) {
        for file in ["cgroup.procs", "cgroup.kill"] where access("\(root)/\(file)", F_OK) != 0 {
            throw SystemCallError("access", context: "\(root)/\(file) (--cgroup-root must be an existing cgroup v2 directory)")
        }
    }

    /// The controllers limits would need that the root does not offer, for the
    /// startup warning (limits are not applied by this build either way).
    public func missingControllers() -> [String] {
        let offered = (try? CgroupLeaf.read("\(root)/cgroup.controllers")) ?? ""
        let available = Set(offered.split(whereSeparator: \.isWhitespace).map(String.init))
        return ["memory", "pids", "cpu"].filter { !available.contains($0) }
    }
}

/// A workload's cgroup v2 leaf: the workload joins it while parked, so every
/// process it ever forks is inside; `cgroup.kill` ends all of them at once.
final class CgroupLeaf: Sendable {
    let path: String

    private init(path: String) { self.path = path }

    static func create(_ settings: CgroupSettings, name: String) throws(SystemCallError) -> CgroupLeaf {
        let path = "\(settings.root)/\(name)"
        try systemCall("mkdir", context: path) { mkdir(path, 0o755) }
        return CgroupLeaf(path: path)
    }

    func add(_ pid: pid_t) throws(SystemCallError) {
        try Self.write("\(pid)\n", to: "\(path)/cgroup.procs")
    }

    /// SIGKILL to every process in the leaf (`cgroup.kill`, Linux 5.14+).
    func killAll() {
        try? Self.write("1\n", to: "\(path)/cgroup.kill")
    }

    /// Removes the leaf once its last process is gone (`populated 0` in
    /// cgroup.events), waiting at most `timeoutMilliseconds`.
    func remove(timeoutMilliseconds: Int = 2000) {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while (try? Self.read("\(path)/cgroup.events"))?.contains("populated 1") == true && Monotonic.milliseconds() < deadline {
            usleep(5_000)
        }
        if rmdir(path) != 0 && errno != ENOENT {
            NetnsdLog.write("cannot remove cgroup \(path): \(SystemCallError("rmdir", context: path))")
        }
    }

    var processes: [pid_t] {
        ((try? Self.read("\(path)/cgroup.procs")) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    static func write(_ text: String, to path: String) throws(SystemCallError) {
        let fd = try systemCall("open", context: path) { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { raw in retryingOnInterrupt { Glibc.write(fd, raw.baseAddress, raw.count) } }
        guard written == bytes.count else { throw SystemCallError("write", context: path) }
    }

    static func read(_ path: String) throws(SystemCallError) -> String {
        let fd = try systemCall("open", context: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { raw in retryingOnInterrupt { Glibc.read(fd, raw.baseAddress, raw.count) } }
        guard count >= 0 else { throw SystemCallError("read", context: path) }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

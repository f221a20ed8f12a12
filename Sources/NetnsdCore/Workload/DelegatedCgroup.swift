#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// `--cgroup-root delegated`: under systemd's `Delegate=yes` the unit's own cgroup
/// v2 directory is the daemon's to manage, but a cgroup that holds processes
/// cannot give controllers to child cgroups. So the daemon first moves itself
/// into a leaf of its own (`netnsd`) and then uses the unit's directory as the
/// root under which each workload gets its leaf.
public enum DelegatedCgroup {
    public static let keyword = "delegated"
    public static let daemonLeaf = "netnsd"

    /// `root` itself, or for `delegated` the daemon's cgroup after the move.
    public static func resolve(_ root: String) throws(SystemCallError) -> String {
        guard root == keyword else { return root }
        let mountinfo = (try? CgroupLeaf.read("/proc/self/mountinfo")) ?? ""
        let membership = (try? CgroupLeaf.read("/proc/self/cgroup")) ?? ""
        guard let directory = ownDirectory(mountinfo: mountinfo, procCgroup: membership) else {
            throw SystemCallError("--cgroup-root delegated", errno: ENOENT, context: "no cgroup v2 membership in /proc/self/cgroup")
        }
        let leaf = "\(directory)/\(daemonLeaf)"
        if mkdir(leaf, 0o755) != 0 && errno != EEXIST { throw SystemCallError("mkdir", context: leaf) }
        let pid = Array("\(getpid())\n".utf8)
        let fd = try OwnedFD.open("\(leaf)/cgroup.procs", O_WRONLY)
        // All threads move with the process (cgroup.procs, not cgroup.threads).
        guard pid.withUnsafeBytes({ write(fd.rawValue, $0.baseAddress, $0.count) }) == pid.count else {
            throw SystemCallError("write", context: "\(leaf)/cgroup.procs")
        }
        return directory
    }

    /// The daemon's cgroup v2 directory: the `0::PATH` line of /proc/self/cgroup
    /// below the cgroup2 mount of /proc/self/mountinfo.
    public static func ownDirectory(mountinfo: String, procCgroup: String) -> String? {
        guard let line = procCgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let path = String(line.dropFirst(3))
        for entry in mountinfo.split(separator: "\n") {
            let fields = entry.split(separator: " ").map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, fields.count > dash + 1, fields[dash + 1] == "cgroup2" else { continue }
            let mountRoot = CgroupHierarchies.unescape(fields[3])
            guard path.hasPrefix(mountRoot) else { continue }
            let relative = mountRoot == "/" ? path : String(path.dropFirst(mountRoot.count))
            return CgroupHierarchies.unescape(fields[4]) + (relative == "/" ? "" : relative)
        }
        return nil
    }
}

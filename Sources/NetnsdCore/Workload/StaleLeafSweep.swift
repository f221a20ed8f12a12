#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Removes the workload leaves (`cell-*`) a daemon killed without its cleanup
/// (SIGKILL, a crash) left: every leaf in the v2 root, populated or not (its
/// processes are killed first with `cgroup.kill`, which reaches everything the
/// workload forked), with its v1 namesakes, then any other empty leaf in the v1
/// `cellos` directories. Runs at startup under the state directory's lock
/// (`StateDirectory`), before the capability drop, so it can also remove
/// leaves in a read-only hierarchy root. The v2 root belongs to this daemon
/// alone (one `--cgroup-root` per state directory); the v1 `cellos`
/// directories sit beneath the daemon's own cgroups and may be shared with
/// other daemons, so there only the namesakes of swept v2 leaves and empty
/// leaves are touched. A live daemon's v1 leaf is empty only between its mkdir
/// and the workload's join, and `WorkloadCgroups` makes it again if a sweep
/// took it then.
enum StaleLeafSweep {
    struct Result: Equatable, Sendable {
        /// Paths of the leaves removed (v2 and v1).
        var removed: [String] = []
        /// v2 leaves that still held processes, and how many processes were killed.
        var populated = 0
        var killed = 0
        /// Leaves that could not be removed (still populated after the wait).
        var left: [String] = []

        /// The log line, nil when nothing was there.
        var summary: String? {
            guard !removed.isEmpty || !left.isEmpty else { return nil }
            var line = "removed \(removed.count) cgroup leaves left by an earlier daemon"
            if populated > 0 { line += " (\(populated) still populated: killed \(killed) processes)" }
            if !left.isEmpty { line += "; could not remove \(left.joined(separator: ", "))" }
            return line
        }
    }

    /// The v1 directories holding leaves, for `controllers`.
    static func v1Directories(controllers: CgroupControllers) -> [String] {
        var directories: [String] = []
        for kind in CgroupLimitKind.allCases {
            if case .v1(let directory) = controllers.placement(of: kind) {
                let parent = "\(directory)/\(CgroupControllers.v1Subdirectory)"
                if !directories.contains(parent) { directories.append(parent) }
            }
        }
        return directories
    }

    static func sweep(v2Root: String, v1Directories: [String]) -> Result {
        var result = Result()
        func remove(_ leaf: CgroupLeaf) {
            if leaf.remove(timeoutMilliseconds: 2000) { result.removed.append(leaf.path) } else { result.left.append(leaf.path) }
        }
        for name in directoryEntries(v2Root, directoriesOnly: true) where name.hasPrefix("cell-") {
            let leaf = CgroupLeaf.existing(at: "\(v2Root)/\(name)", version: .v2)
            let processes = leaf.processes
            if !processes.isEmpty {
                result.populated += 1
                result.killed += processes.count
                leaf.killAll()
            }
            remove(leaf)
            for directory in v1Directories where access("\(directory)/\(name)", F_OK) == 0 {
                remove(CgroupLeaf.existing(at: "\(directory)/\(name)", version: .v1))
            }
        }
        for directory in v1Directories {
            for name in directoryEntries(directory, directoriesOnly: true) where name.hasPrefix("cell-") {
                let path = "\(directory)/\(name)"
                // rmdir refuses a populated cgroup anyway (EBUSY); the check keeps the log honest.
                if (try? CgroupLeaf.read("\(path)/cgroup.procs"))?.isEmpty == true && rmdir(path) == 0 { result.removed.append(path) }
            }
        }
        return result
    }
}

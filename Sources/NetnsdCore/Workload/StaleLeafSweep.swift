#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Removes empty workload leaves (`cell-*`) that a daemon killed without its
/// cleanup (SIGKILL, a crash) left in the v2 root and in the v1 `cellos`
/// directories. Runs at startup, before the capability drop, so it can also
/// remove leaves in a read-only hierarchy root. A leaf with processes in it is
/// left alone: it may be another live daemon's, or a workload still running.
/// A live daemon's leaf is empty only between its mkdir and the workload's
/// join, and `WorkloadCgroups` makes it again if a sweep took it then.
enum StaleLeafSweep {
    /// The directories holding leaves, for `controllers` under `v2Root`.
    static func directories(v2Root: String, controllers: CgroupControllers) -> [String] {
        var directories = [v2Root]
        for kind in CgroupLimitKind.allCases {
            if case .v1(let directory) = controllers.placement(of: kind) {
                let parent = "\(directory)/\(CgroupControllers.v1Subdirectory)"
                if !directories.contains(parent) { directories.append(parent) }
            }
        }
        return directories
    }

    /// Removes every empty `cell-*` directory in `directories`; returns their paths.
    @discardableResult
    static func sweep(_ directories: [String]) -> [String] {
        var removed: [String] = []
        for directory in directories {
            for name in entries(of: directory) where name.hasPrefix("cell-") {
                let path = "\(directory)/\(name)"
                let procs = (try? CgroupLeaf.read("\(path)/cgroup.procs")) ?? "?"
                // rmdir refuses a populated cgroup anyway (EBUSY); the check keeps the log honest.
                if procs.isEmpty && rmdir(path) == 0 { removed.append(path) }
            }
        }
        return removed
    }

    private static func entries(of directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

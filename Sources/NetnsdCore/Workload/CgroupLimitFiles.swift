#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The files, and the values, that carry one limit in a cgroup leaf: the
/// interface files of cgroup v2 and of the v1 controllers differ.
enum CgroupLimitFiles {
    struct Entry: Equatable {
        var file: String
        var value: String
        /// Written only when the kernel offers the file (swap accounting may be off).
        var optional = false
    }

    /// CFS period; the quota is `percent × period / 100`.
    static let cpuPeriodMicroseconds: UInt64 = 100_000

    /// What to write for `kind`, in order, or nil when `limits` does not ask for it.
    /// Memory limits include swap (`memory.swap.max 0`, `memsw` = the limit), so a
    /// workload cannot grow past its limit by swapping.
    static func entries(_ kind: CgroupLimitKind, _ limits: CgroupLimits, version: CgroupLeaf.Version) -> [Entry]? {
        switch (kind, version) {
        case (.memory, _):
            guard let bytes = limits.memoryMaxBytes else { return nil }
            return version == .v2
                ? [Entry(file: "memory.max", value: "\(bytes)"), Entry(file: "memory.swap.max", value: "0", optional: true)]
                : [Entry(file: "memory.limit_in_bytes", value: "\(bytes)"), Entry(file: "memory.memsw.limit_in_bytes", value: "\(bytes)", optional: true)]
        case (.pids, _):
            guard let pids = limits.pidsMax else { return nil }
            return [Entry(file: "pids.max", value: "\(pids)")]
        case (.cpu, _):
            guard let percent = limits.cpuPercent else { return nil }
            let quota = UInt64(percent) * cpuPeriodMicroseconds / 100
            return version == .v2
                ? [Entry(file: "cpu.max", value: "\(quota) \(cpuPeriodMicroseconds)")]
                : [Entry(file: "cpu.cfs_period_us", value: "\(cpuPeriodMicroseconds)"), Entry(file: "cpu.cfs_quota_us", value: "\(quota)")]
        }
    }

    /// Writes `entries` into the leaf at `directory`, one write per file.
    static func apply(_ entries: [Entry], in directory: String) throws(SystemCallError) {
        for entry in entries {
            let path = "\(directory)/\(entry.file)"
            if entry.optional && access(path, F_OK) != 0 { continue }
            try CgroupLeaf.write("\(entry.value)\n", to: path)
        }
    }
}

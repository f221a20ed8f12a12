#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// A workload's cgroups: its v2 leaf under `--cgroup-root` (always: it is what
/// `cgroup.kill` ends the whole tree with), holding the v2-placed limits, plus one
/// v1 leaf per v1 hierarchy carrying a requested limit, beneath the daemon's own
/// cgroup there. The parked workload joins every leaf before it may `execve`.
final class WorkloadCgroups: Sendable {
    let leaves: [CgroupLeaf]
    /// How each requested limit was applied, for `WorkloadSpawned`.
    let enforcement: [LimitEnforcement]

    private init(leaves: [CgroupLeaf], enforcement: [LimitEnforcement]) {
        self.leaves = leaves
        self.enforcement = enforcement
    }

    /// The reply's entries when the daemon has no `--cgroup-root`.
    static func withoutCgroupRoot(_ limits: CgroupLimits) -> [LimitEnforcement] {
        limits.requested.map { LimitEnforcement($0, .notEnforced(reason: "no --cgroup-root")) }
    }

    /// Makes the leaves named `name`, moves `pid` into each and writes the limits.
    /// A limit whose controller has no place is reported, not fatal; a failed
    /// write to a controller that is there is: then `endWorkload` kills and reaps
    /// `pid` (a leaf with a process in it cannot be removed) and the leaves made
    /// so far are removed.
    /// `pid` is parked (it runs nothing before StartWorkload), so it joins each
    /// leaf as soon as the leaf exists: a joined leaf is never empty, which keeps
    /// another daemon's `StaleLeafSweep` off it; the limits follow before the reply.
    static func create(
        _ settings: CgroupSettings, name: String, pid: pid_t, limits: CgroupLimits, endWorkload: () -> Void
    ) throws(SystemCallError) -> WorkloadCgroups {
        var leaves: [CgroupLeaf] = []
        do {
            let v2 = try joined(pid) { () throws(SystemCallError) in try CgroupLeaf.create(at: "\(settings.root)/\(name)", version: .v2) }
            leaves.append(v2)
            var enforcement: [LimitEnforcement] = []
            var v1Leaves: [String: CgroupLeaf] = [:]
            for kind in limits.requested {
                switch settings.controllers.placement(of: kind) {
                case .v2:
                    try CgroupLimitFiles.apply(CgroupLimitFiles.entries(kind, limits, version: .v2) ?? [], in: v2.path)
                    enforcement.append(LimitEnforcement(kind, .cgroupV2))
                case .v1(let directory):
                    // Co-mounted controllers (cpu,cpuacct) share one hierarchy, hence one leaf.
                    let leaf: CgroupLeaf
                    if let existing = v1Leaves[directory] {
                        leaf = existing
                    } else {
                        leaf = try joined(pid) { () throws(SystemCallError) in try createV1Leaf(under: directory, name: name) }
                        leaves.append(leaf)
                        v1Leaves[directory] = leaf
                    }
                    try CgroupLimitFiles.apply(CgroupLimitFiles.entries(kind, limits, version: .v1) ?? [], in: leaf.path)
                    enforcement.append(LimitEnforcement(kind, .cgroupV1))
                case .unavailable(let reason):
                    enforcement.append(LimitEnforcement(kind, .notEnforced(reason: reason)))
                }
            }
            return WorkloadCgroups(leaves: leaves, enforcement: enforcement)
        } catch {
            endWorkload()
            for leaf in leaves.reversed() { remove(leaf, timeoutMilliseconds: 500) }
            throw error
        }
    }

    /// A leaf from `make` with `pid` in it. Made again when it vanished before
    /// `pid` joined (a starting daemon's sweep took it while it was empty).
    private static func joined(_ pid: pid_t, make: () throws(SystemCallError) -> CgroupLeaf) throws(SystemCallError) -> CgroupLeaf {
        var attempts = 0
        while true {
            let leaf = try make()
            do {
                try leaf.add(pid)
                return leaf
            } catch where error.errno == ENOENT && attempts < 3 {
                attempts += 1
            } catch {
                remove(leaf, timeoutMilliseconds: 0)  // pid is not in it: it is empty
                throw error
            }
        }
    }

    /// `directory/cellos/name`. Under a writable own cgroup `cellos` is made on
    /// demand and removed with the last leaf, so another workload's removal may
    /// take it between our two mkdirs: then it is made again. Under a read-only
    /// one it was made at startup and stays.
    private static func createV1Leaf(under directory: String, name: String) throws(SystemCallError) -> CgroupLeaf {
        let parent = "\(directory)/\(CgroupControllers.v1Subdirectory)"
        var attempts = 0
        while true {
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw SystemCallError("mkdir", context: parent) }
            do {
                return try CgroupLeaf.create(at: "\(parent)/\(name)", version: .v1)
            } catch where error.errno == ENOENT && attempts < 3 {
                attempts += 1
            }
        }
    }

    /// SIGKILL to everything the workload ever forked (its v2 leaf).
    func killAll() {
        leaves.first?.killAll()
    }

    /// Removes every leaf once empty: the v2 leaf first (it empties last, as it
    /// holds every process), then the v1 leaves and their `cellos` parent when no
    /// other workload uses it. Returns whether the v2 leaf went, i.e. nothing the
    /// workload forked is left.
    @discardableResult
    func remove() -> Bool {
        let emptied = leaves.first.map { Self.remove($0) } ?? true
        for leaf in leaves.dropFirst() { Self.remove(leaf) }
        return emptied
    }

    @discardableResult
    private static func remove(_ leaf: CgroupLeaf, timeoutMilliseconds: Int = 2000) -> Bool {
        let removed = leaf.remove(timeoutMilliseconds: timeoutMilliseconds)
        guard leaf.version == .v1 else { return removed }
        let parent = String(leaf.path[..<(leaf.path.lastIndex(of: "/") ?? leaf.path.endIndex)])
        // ENOTEMPTY/EBUSY while other workloads' leaves are there; EACCES where
        // only the startup could make it (CgroupControllers.prepareV1Parent).
        _ = rmdir(parent)
        return removed
    }
}

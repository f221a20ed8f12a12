import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// Controller discovery from given mountinfo and /proc/self/cgroup text (pure
/// parsing), and the v2 path against a temporary directory shaped like a cgroup
/// v2 root. This machine (and CI) is a hybrid host whose v2 hierarchy offers no
/// memory/pids/cpu controller, so a temporary directory is the only way to
/// exercise the v2 path here; the v1 path runs on the real kernel in
/// `WorkloadLimitTests`.
@Suite struct CgroupDiscoveryTests {
    /// A hybrid host as in a container: v1 memory nested in a per-job cgroup,
    /// cpu co-mounted with cpuacct, pids at its root, v2 at /sys/fs/cgroup/unified.
    static let hybridMountinfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
        """
    static let hybridMembership = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/4eae42
        2:cpu,cpuacct:/
        0::/
        """

    @Test func hybridHostPutsEachControllerBeneathTheDaemonsOwnCgroup() {
        let hierarchies = CgroupHierarchies(mountinfo: Self.hybridMountinfo, procCgroup: Self.hybridMembership)
        #expect(hierarchies.mounts.map(\.controllers) == [["cpu", "cpuacct"], ["memory"], ["pids"], []])
        #expect(hierarchies.ownDirectory(for: "memory") == .success("/sys/fs/cgroup/memory/process_api/4eae42"))
        #expect(hierarchies.ownDirectory(for: "pids") == .success("/sys/fs/cgroup/pids"))
        #expect(hierarchies.ownDirectory(for: "cpu") == .success("/sys/fs/cgroup/cpu,cpuacct"))
        #expect(hierarchies.ownDirectory(for: "hugetlb") == .failure(.init(reason: "no cgroup v1 hugetlb hierarchy is mounted")))
    }

    /// A mount whose root is not "/" (a cgroup namespace or a bind mount) shows
    /// only that subtree: paths are taken relative to it, and a cgroup outside it
    /// is unreachable. Octal escapes in the mount point are decoded.
    @Test func mountRootsAndEscapesAreHonoured() {
        let mountinfo = """
            50 31 0:32 /jobs /mnt/cg\\040mem rw - cgroup cgroup rw,memory
            51 31 0:36 /other /sys/fs/cgroup/pids rw - cgroup none rw,pids
            """
        let membership = "4:memory:/jobs/j1\n8:pids:/elsewhere\n"
        let hierarchies = CgroupHierarchies(mountinfo: mountinfo, procCgroup: membership)
        #expect(hierarchies.ownDirectory(for: "memory") == .success("/mnt/cg mem/j1"))
        #expect(hierarchies.ownDirectory(for: "pids") == .failure(.init(
            reason: "the daemon's pids cgroup /elsewhere is outside the mount /sys/fs/cgroup/pids (root /other)")))
        #expect(CgroupHierarchies(mountinfo: mountinfo, procCgroup: "0::/\n").ownDirectory(for: "memory")
            == .failure(.init(reason: "/proc/self/cgroup names no memory cgroup for the daemon")))
        // A v2-only host: no v1 line at all.
        let unified = CgroupHierarchies(mountinfo: "41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", procCgroup: "0::/system.slice/x\n")
        #expect(unified.mounts.isEmpty && unified.membership.isEmpty)
    }

    /// A temporary directory shaped like a v2 root offering memory and pids (not
    /// cpu): discovery enables the offered ones in its cgroup.subtree_control,
    /// places them in v2 and sends cpu on to v1 (here: none mounted).
    @Test func v2RootOfferingControllersIsUsedAndEnabled() throws {
        let root = try Self.fakeV2Root(controllers: "cpuset io memory hugetlb pids rdma misc")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let controllers = CgroupControllers.discover(
            v2Root: root, hierarchies: CgroupHierarchies(mountinfo: "", procCgroup: ""))
        #expect(controllers.placement(of: .memory) == .v2)
        #expect(controllers.placement(of: .pids) == .v2)
        #expect(controllers.placement(of: .cpu) == .unavailable(
            reason: "\(root) does not offer the cgroup v2 cpu controller; no cgroup v1 cpu hierarchy is mounted"))
        #expect(try String(contentsOfFile: "\(root)/cgroup.subtree_control", encoding: .utf8) == "+memory\n+pids\n")
        #expect(controllers.logLines == [
            "cgroup limits: memory v2, pids v2, cpu not enforced",
            "warning: workloads run without cpu limits: \(root) does not offer the cgroup v2 cpu controller; no cgroup v1 cpu hierarchy is mounted",
        ])
    }

    /// The v2 limit files: what a workload leaf gets for memory/pids/cpu (the
    /// leaf's files pre-made here, empty, as the kernel makes them at mkdir). Optional
    /// files (memory.swap.max) are written only when they exist.
    @Test func v2LimitsAreWrittenToTheLeafsFiles() throws {
        let root = try Self.fakeV2Root(controllers: "memory pids cpu")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let leaf = "\(root)/cell-x-1"
        try FileManager.default.createDirectory(atPath: leaf, withIntermediateDirectories: false)
        for file in ["memory.max", "pids.max", "cpu.max", "cgroup.procs"] {
            #expect(FileManager.default.createFile(atPath: "\(leaf)/\(file)", contents: nil))
        }
        let limits = try CgroupLimits(memoryMaxBytes: 32 << 20, pidsMax: 5, cpuPercent: 250)
        for kind in CgroupLimitKind.allCases {
            try CgroupLimitFiles.apply(try #require(CgroupLimitFiles.entries(kind, limits, version: .v2)), in: leaf)
        }
        func read(_ file: String) throws -> String { try String(contentsOfFile: "\(leaf)/\(file)", encoding: .utf8) }
        #expect(try read("memory.max") == "33554432\n")
        #expect(try read("pids.max") == "5\n")
        #expect(try read("cpu.max") == "250000 100000\n")
        #expect(!FileManager.default.fileExists(atPath: "\(leaf)/memory.swap.max"), "optional file not created")
        #expect(FileManager.default.createFile(atPath: "\(leaf)/memory.swap.max", contents: nil))
        try CgroupLimitFiles.apply(try #require(CgroupLimitFiles.entries(.memory, limits, version: .v2)), in: leaf)
        #expect(try read("memory.swap.max") == "0\n")
        // A required file that is missing is an error naming it.
        try FileManager.default.removeItem(atPath: "\(leaf)/pids.max")
        #expect(throws: SystemCallError("open", errno: ENOENT, context: "\(leaf)/pids.max")) {
            try CgroupLimitFiles.apply(CgroupLimitFiles.entries(.pids, limits, version: .v2) ?? [], in: leaf)
        }
    }

    /// v1 files and values, and nothing for a limit that is not asked for.
    @Test func v1EntriesUseTheV1InterfaceFiles() throws {
        let limits = try CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 32, cpuPercent: 50)
        #expect(CgroupLimitFiles.entries(.memory, limits, version: .v1) == [
            .init(file: "memory.limit_in_bytes", value: "67108864"),
            .init(file: "memory.memsw.limit_in_bytes", value: "67108864", optional: true),
        ])
        #expect(CgroupLimitFiles.entries(.pids, limits, version: .v1) == [.init(file: "pids.max", value: "32")])
        #expect(CgroupLimitFiles.entries(.cpu, limits, version: .v1) == [
            .init(file: "cpu.cfs_period_us", value: "100000"), .init(file: "cpu.cfs_quota_us", value: "50000"),
        ])
        let onlyPids = try CgroupLimits(pidsMax: 3)
        #expect(CgroupLimitFiles.entries(.memory, onlyPids, version: .v1) == nil)
        #expect(CgroupLimitFiles.entries(.cpu, onlyPids, version: .v2) == nil)
        #expect(onlyPids.requested == [.pids])
    }

    /// A directory with the files a v2 root has (`cgroup.controllers` listing
    /// `controllers`, empty `cgroup.subtree_control`, `cgroup.procs`, `cgroup.kill`).
    static func fakeV2Root(controllers: String) throws -> String {
        let root = NSTemporaryDirectory() + "cellos-fake-cgroup2-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        for (file, text) in [("cgroup.controllers", controllers + "\n"), ("cgroup.subtree_control", ""), ("cgroup.procs", ""), ("cgroup.kill", "")] {
            #expect(FileManager.default.createFile(atPath: "\(root)/\(file)", contents: Data(text.utf8)))
        }
        return root
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Where each limit-carrying controller (memory, pids, cpu) puts its limits,
/// decided once at startup: in the cgroup v2 hierarchy under `--cgroup-root` when
/// that root offers the controller (the daemon enables it in the root's
/// `cgroup.subtree_control`), else in the controller's cgroup v1 hierarchy
/// beneath the daemon's own cgroup (hybrid hosts bind memory/pids/cpu to v1 and
/// leave v2 without them), else nowhere (limits of that kind are not enforced).
public struct CgroupControllers: Equatable, Sendable {
    public enum Placement: Equatable, Sendable {
        case v2
        /// Leaves go under `directory/cellos/`; `directory` is the daemon's own cgroup.
        case v1(directory: String)
        case unavailable(reason: String)
    }

    public var placements: [CgroupLimitKind: Placement]

    public init(placements: [CgroupLimitKind: Placement]) { self.placements = placements }

    public func placement(of kind: CgroupLimitKind) -> Placement {
        placements[kind] ?? .unavailable(reason: "not discovered")
    }

    /// Decides each controller's placement. `v2Root` is `--cgroup-root`;
    /// `hierarchies` describes the v1 side. Writes `+CONTROLLER` to the root's
    /// `cgroup.subtree_control` for each controller its `cgroup.controllers`
    /// offers (the only write; a refused one sends the controller on to v1).
    public static func discover(v2Root: String, hierarchies: CgroupHierarchies) -> CgroupControllers {
        let offered = Set(((try? CgroupLeaf.read("\(v2Root)/cgroup.controllers")) ?? "").split(whereSeparator: \.isWhitespace).map(String.init))
        var placements: [CgroupLimitKind: Placement] = [:]
        for kind in CgroupLimitKind.allCases {
            let name = kind.description
            var v2Problem = "\(v2Root) does not offer the cgroup v2 \(name) controller"
            if offered.contains(name) {
                do {
                    // One controller per write: one refusal leaves the others enabled.
                    try CgroupLeaf.write("+\(name)\n", to: "\(v2Root)/cgroup.subtree_control", append: true)
                    placements[kind] = .v2
                    continue
                } catch {
                    v2Problem = "enabling \(name) in \(v2Root)/cgroup.subtree_control failed: \(error)"
                }
            }
            switch hierarchies.ownDirectory(for: name) {
            case .success(let directory):
                if let problem = prepareV1Parent("\(directory)/\(v1Subdirectory)") {
                    placements[kind] = .unavailable(reason: "\(v2Problem); \(problem)")
                } else {
                    placements[kind] = .v1(directory: directory)
                }
            case .failure(let unavailable):
                placements[kind] = .unavailable(reason: "\(v2Problem); \(unavailable.reason)")
            }
        }
        return CgroupControllers(placements: placements)
    }

    /// Checks the daemon will be able to make leaves in `parent` (the daemon's
    /// `cellos` directory in a v1 hierarchy); the problem, if any. Called before
    /// the daemon drops its capabilities: its own cgroup may be a hierarchy's
    /// root, mode 0555, where only CAP_DAC_OVERRIDE (held at startup, never
    /// after) can make a directory, so there `parent` is made now and stays when
    /// the last workload ends (it could not be made again). Under an own cgroup
    /// its owner may write, `parent` comes and goes with the leaves.
    static func prepareV1Parent(_ parent: String) -> String? {
        let own = String(parent[..<(parent.lastIndex(of: "/") ?? parent.endIndex)])
        var info = stat()
        guard stat(own, &info) == 0 else { return "\(SystemCallError("stat", context: own))" }
        if info.st_uid == geteuid() && info.st_mode & S_IWUSR != 0 { return nil }
        if mkdir(parent, 0o755) != 0 && errno != EEXIST {
            return "cannot make \(parent): \(SystemCallError("mkdir", context: parent))"
        }
        guard stat(parent, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return "\(parent) is not a directory" }
        guard info.st_uid == geteuid(), info.st_mode & S_IWUSR != 0 else {
            return "\(parent) is not writable by its owner uid \(geteuid()) (owner \(info.st_uid), mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        return nil
    }

    /// Reads the daemon's own mountinfo and cgroup membership.
    public static func discover(v2Root: String) -> CgroupControllers {
        let mountinfo = (try? CgroupLeaf.read("/proc/self/mountinfo")) ?? ""
        let membership = (try? CgroupLeaf.read("/proc/self/cgroup")) ?? ""
        return discover(v2Root: v2Root, hierarchies: CgroupHierarchies(mountinfo: mountinfo, procCgroup: membership))
    }

    /// The startup log: one line saying where each controller's limits go, then a
    /// `warning:` line per controller that has no place.
    public var logLines: [String] {
        let placed = CgroupLimitKind.allCases.map { kind -> String in
            switch placement(of: kind) {
            case .v2: "\(kind) v2"
            case .v1(let directory): "\(kind) v1 (\(directory)/\(Self.v1Subdirectory))"
            case .unavailable: "\(kind) not enforced"
            }
        }
        var lines = ["cgroup limits: " + placed.joined(separator: ", ")]
        for kind in CgroupLimitKind.allCases {
            if case .unavailable(let reason) = placement(of: kind) {
                lines.append("warning: workloads run without \(kind) limits: \(reason)")
            }
        }
        return lines
    }

    /// The directory under the daemon's own v1 cgroup that holds workload leaves.
    public static let v1Subdirectory = "cellos"
}

/// Where the daemon itself sits in each cgroup v1 hierarchy, read from the text of
/// `/proc/self/mountinfo` and `/proc/self/cgroup` (pure: tests pass their own text).
///
/// v1 leaves are made beneath the daemon's *own* cgroup so a workload can never
/// escape the limits the daemon runs under (a container's memory cap, say): a v1
/// limit only binds what is below it.
public struct CgroupHierarchies: Equatable, Sendable {
    /// A mounted cgroup v1 hierarchy: its mount point, the cgroup path of the
    /// mount's root (not "/" inside some containers) and its controllers.
    public struct Mount: Equatable, Sendable {
        public var mountPoint: String
        public var root: String
        public var controllers: [String]
    }

    public var mounts: [Mount]
    /// The daemon's cgroup path per v1 controller (`/proc/self/cgroup`).
    public var membership: [String: String]

    public init(mountinfo: String, procCgroup: String) {
        mounts = Self.parseMounts(mountinfo)
        membership = Self.parseMembership(procCgroup)
    }

    /// The directory of the daemon's own cgroup in the v1 hierarchy carrying
    /// `controller`, or why there is none.
    public func ownDirectory(for controller: String) -> Result<String, Unavailable> {
        guard let mount = mounts.first(where: { $0.controllers.contains(controller) }) else {
            return .failure(Unavailable(reason: "no cgroup v1 \(controller) hierarchy is mounted"))
        }
        guard let path = membership[controller] else {
            return .failure(Unavailable(reason: "/proc/self/cgroup names no \(controller) cgroup for the daemon"))
        }
        // The mount shows the hierarchy from `root` down: the daemon's path must be inside it.
        let root = mount.root == "/" ? "" : mount.root
        guard path == mount.root || path.hasPrefix(root + "/") else {
            return .failure(Unavailable(reason: "the daemon's \(controller) cgroup \(path) is outside the mount \(mount.mountPoint) (root \(mount.root))"))
        }
        let relative = String(path.dropFirst(root.count))
        let directory = mount.mountPoint + (relative == "/" ? "" : relative)
        return .success(directory)
    }

    public struct Unavailable: Error, Equatable, Sendable {
        public let reason: String
    }

    /// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`
    /// (proc(5)); keeps the `cgroup` (v1) lines. Controllers are the super options
    /// that are not generic mount options (`rw`, `name=…`, …).
    static func parseMounts(_ text: String) -> [Mount] {
        text.split(separator: "\n").compactMap { line -> Mount? in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 4, fields[dash + 1] == "cgroup" else {
                return nil
            }
            let generic: Set<String> = ["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"]
            let controllers = fields[dash + 3].split(separator: ",").map(String.init).filter {
                !generic.contains($0) && !$0.hasPrefix("name=") && !$0.hasPrefix("release_agent=")
            }
            return Mount(mountPoint: unescape(fields[4]), root: unescape(fields[3]), controllers: controllers)
        }
    }

    /// `HIERARCHY-ID:CONTROLLERS:PATH` (cgroups(7)); the v2 line (`0::PATH`) and
    /// named hierarchies carry no controller and are skipped.
    static func parseMembership(_ text: String) -> [String: String] {
        var membership: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[2].hasPrefix("/") else { continue }
            for controller in parts[1].split(separator: ",") where !controller.hasPrefix("name=") {
                membership[String(controller)] = String(parts[2])
            }
        }
        return membership
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
    static func unescape(_ field: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 4 <= utf8.count,
                let value = UInt8(String(decoding: utf8[(index + 1)..<(index + 4)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

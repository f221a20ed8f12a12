#if canImport(Glibc)
import Glibc
#endif
import CNetnsdShim
import IPCWire

/// The workload's filesystem view: a new tmpfs root with read-only binds of what
/// programs need, private tmpfs directories, a minimal /dev, a fresh /proc, the
/// workspace and the request's `mounts`, as a list of steps the forked child runs
/// in order (docs/netnsd.md, "Filesystem view"). Planned here, before the fork,
/// where paths can be checked and strings built.
struct FilesystemView {
    /// Bound read-only when present on the host; a symlink (merged /usr) is
    /// recreated as the same symlink.
    static let systemPaths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
    /// Private tmpfs directories owned by the workload (noexec: programs it builds
    /// belong in the workspace).
    static let privateDirectories = ["/tmp", "/var/tmp", "/run", "/dev/shm"]
    static let deviceNodes = ["null", "zero", "full", "random", "urandom", "tty"]
    /// Where the child mounts the new root in its own mount namespace (never a
    /// `mounts` source: it is the daemon's directory).
    static let daemonDirectory = ResolvConf.directory
    static let mountPoint = "\(daemonDirectory)/root"

    struct Step: Equatable {
        var op: cellos_netnsd_view_op
        /// Relative to the new root; "" is the root.
        var parent: String
        var name: String
        var source: String = ""
        var attributes: MountAttributes = []
        /// `CELLOS_VIEW_SECRET`: the memfd and (in `size`) its byte count.
        var fd: Int32 = -1
        var size: UInt64 = 0
    }

    /// MOUNT_ATTR_* (the same bits as MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC).
    struct MountAttributes: OptionSet, Equatable {
        let rawValue: UInt64
        static let readOnly = MountAttributes(rawValue: 0x1)
        static let noSetuid = MountAttributes(rawValue: 0x2)
        static let noDevices = MountAttributes(rawValue: 0x4)
        static let noExec = MountAttributes(rawValue: 0x8)
        static let sealed: MountAttributes = [.readOnly, .noSetuid, .noDevices]
    }

    private(set) var steps: [Step] = []
    /// Directories and files the workload may write (for Landlock), as it sees them.
    private(set) var writableDirectories: [String] = []
    private(set) var writableFiles: [String] = []
    private(set) var readOnlyBinds = 0
    /// The workload's ids: owner of the secrets directory and files.
    let owner: (uid: UInt32, gid: UInt32)

    static let rootOptions = "size=1m,mode=0755"

    /// Checks every `mounts[i].source` (it exists, it is not the daemon's own
    /// directory) before anything is created; a bad one is named in the refusal.
    /// Returns, per mount, whether its source is a directory.
    static func checkMounts(_ request: SpawnWorkload) -> Result<[Bool], RefusedRequest> {
        var sourceIsDirectory: [Bool] = []
        for (index, mount) in request.mounts.enumerated() {
            var info = stat()
            guard stat(mount.source, &info) == 0 else {
                return .failure(RefusedRequest("cell \(request.cellID): mounts[\(index)].source '\(mount.source)': \(SystemCallError("stat"))"))
            }
            let normalized = normalize(mount.source)
            guard normalized != daemonDirectory && !normalized.hasPrefix(daemonDirectory + "/") else {
                return .failure(RefusedRequest("cell \(request.cellID): mounts[\(index)].source '\(mount.source)' is the daemon's own directory"))
            }
            sourceIsDirectory.append(info.st_mode & S_IFMT == S_IFDIR)
        }
        return .success(sourceIsDirectory)
    }

    /// The view for `request` (whose mounts passed `checkMounts`, giving
    /// `sourceIsDirectory`; whose secret memfds, `secretDescriptors` in order, passed `SecretDescriptors.check`).
    init(_ request: SpawnWorkload, identity: WorkloadIdentity, resolvConf: String, sourceIsDirectory: [Bool], secretDescriptors: [Int32] = []) {
        owner = (identity.uid, identity.gid)
        build(request, identity: identity, resolvConf: resolvConf, sourceIsDirectory: sourceIsDirectory, secretDescriptors: secretDescriptors)
    }

    /// The (empty) directory the child mounts the new root on, in its own mount namespace.
    static func prepareMountPoint() throws(SystemCallError) {
        if mkdir(mountPoint, 0o700) != 0 && errno != EEXIST { throw SystemCallError("mkdir", context: mountPoint) }
    }

    private mutating func build(
        _ request: SpawnWorkload, identity: WorkloadIdentity, resolvConf: String, sourceIsDirectory: [Bool], secretDescriptors: [Int32]
    ) {
        for path in Self.systemPaths {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let (parent, name) = Self.split(path)
            if info.st_mode & S_IFMT == S_IFLNK, let text = Self.readLink(path) {
                steps.append(Step(op: CELLOS_VIEW_SYMLINK, parent: parent, name: name, source: text))
            } else if info.st_mode & S_IFMT == S_IFDIR {
                steps.append(Step(op: CELLOS_VIEW_MKDIR, parent: parent, name: name))
                steps.append(Step(op: CELLOS_VIEW_BIND, parent: parent, name: name, source: path, attributes: .sealed))
                readOnlyBinds += 1
            }
        }
        // /dev: a small tmpfs with binds of the host's harmless nodes (a bind keeps
        // the node usable although the tmpfs is nodev), the usual /proc symlinks.
        steps.append(Step(op: CELLOS_VIEW_MKDIR, parent: "", name: "dev"))
        steps.append(Step(op: CELLOS_VIEW_TMPFS, parent: "", name: "dev", source: "size=64k,mode=0755", attributes: [.noSetuid, .noDevices, .noExec]))
        for node in Self.deviceNodes where access("/dev/\(node)", F_OK) == 0 {
            steps.append(Step(op: CELLOS_VIEW_MKFILE, parent: "dev", name: node))
            steps.append(Step(op: CELLOS_VIEW_BIND, parent: "dev", name: node, source: "/dev/\(node)", attributes: [.noSetuid, .noExec]))
            writableFiles.append("/dev/\(node)")
        }
        for (name, text) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")] {
            steps.append(Step(op: CELLOS_VIEW_SYMLINK, parent: "dev", name: name, source: text))
        }
        // Owned by the workload, and 1777 like a /tmp: the child (uid 0 without
        // CAP_DAC_OVERRIDE) must still create the directories of mount targets in them.
        let owned = "size=64m,mode=1777,uid=\(identity.uid),gid=\(identity.gid)"
        for path in Self.privateDirectories {
            addDirectories(path)
            let (parent, name) = Self.split(path)
            steps.append(Step(op: CELLOS_VIEW_TMPFS, parent: parent, name: name, source: owned, attributes: [.noSetuid, .noDevices, .noExec]))
            writableDirectories.append(path)
        }
        // Into the private /run before any `mounts` entry could cover it: the
        // secrets land in the cell's tmpfs, never in a bound host directory.
        steps += SecretDescriptors.steps(request.secretFiles, descriptors: secretDescriptors)
        // After /run exists: a host whose /etc/resolv.conf links into /run
        // (systemd-resolved) gets the cell's file where the link points.
        let resolvTarget = Self.resolvConfTarget()
        let (resolvParent, resolvName) = Self.split(resolvTarget)
        if resolvTarget != "/etc/resolv.conf" {
            addDirectories("/" + resolvParent)
            steps.append(Step(op: CELLOS_VIEW_MKFILE, parent: resolvParent, name: resolvName))
        }
        steps.append(Step(op: CELLOS_VIEW_BIND, parent: resolvParent, name: resolvName, source: resolvConf, attributes: .sealed))

        // /proc after the PID namespace exists (the child is already its pid 1).
        steps.append(Step(op: CELLOS_VIEW_MKDIR, parent: "", name: "proc"))
        steps.append(Step(op: CELLOS_VIEW_PROC, parent: "", name: "proc", attributes: [.noSetuid, .noDevices, .noExec]))
        if let workspace = request.workspace {
            addDirectories(workspace)
            let (parent, name) = Self.split(workspace)
            steps.append(Step(op: CELLOS_VIEW_TMPFS, parent: parent, name: name, source: Self.workspaceOptions(identity), attributes: [.noSetuid, .noDevices]))
            writableDirectories.append(Self.normalize(workspace))
        }
        for (index, mount) in request.mounts.enumerated() {
            let target = mount.normalizedTarget
            let (parent, name) = Self.split(target)
            addDirectories(parent.isEmpty ? "/" : "/" + parent)
            steps.append(Step(op: sourceIsDirectory[index] ? CELLOS_VIEW_MKDIR : CELLOS_VIEW_MKFILE, parent: parent, name: name))
            steps.append(Step(
                op: CELLOS_VIEW_CLIENT_BIND, parent: parent, name: name, source: mount.source,
                attributes: mount.writable ? [.noSetuid, .noDevices] : .sealed))
            if mount.writable {
                if sourceIsDirectory[index] { writableDirectories.append(target) } else { writableFiles.append(target) }
            }
        }
    }

    /// The workspace tmpfs's options (built here: the child must not format strings).
    static func workspaceOptions(_ identity: WorkloadIdentity) -> String {
        "size=64m,mode=0700,uid=\(identity.uid),gid=\(identity.gid)"
    }

    /// One mkdir per component of `path`, each an existing directory or new.
    private mutating func addDirectories(_ path: String) {
        var parent = ""
        for component in path.split(separator: "/") {
            steps.append(Step(op: CELLOS_VIEW_MKDIR, parent: parent, name: String(component)))
            parent = parent.isEmpty ? String(component) : parent + "/" + component
        }
    }

    /// Where the cell's resolv.conf goes: /etc/resolv.conf, or (when that is a
    /// symlink into /run or /tmp, which are the workload's own tmpfs here) the
    /// place it points to.
    static func resolvConfTarget() -> String {
        guard let text = readLink("/etc/resolv.conf") else { return "/etc/resolv.conf" }
        let resolved = normalize(text.hasPrefix("/") ? text : "/etc/" + text)
        let privateRoots = ["/run/", "/tmp/"]
        return privateRoots.contains { resolved.hasPrefix($0) } ? resolved : "/etc/resolv.conf"
    }

    /// `/a/b/c` as ("a/b", "c"), relative to the root.
    static func split(_ path: String) -> (parent: String, name: String) {
        var components = path.split(separator: "/").map(String.init)
        let name = components.popLast() ?? ""
        return (components.joined(separator: "/"), name)
    }

    /// Collapses `.`, `..`, repeated and trailing slashes (lexically).
    static func normalize(_ path: String) -> String {
        var components: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == ".." { _ = components.popLast() } else { components.append(component) }
        }
        return "/" + components.joined(separator: "/")
    }

    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

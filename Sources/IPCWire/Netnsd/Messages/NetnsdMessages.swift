/// `cellos-netnsd` requests and replies (types 256–511, listed in `MessageType`).
/// Marks the messages `NetnsdClient.request` may send; encoding rules are those of
/// every `WireMessage` (strict decoding, named fields).
public protocol NetnsdMessage: WireMessage {}

/// Creates a cell: a new network namespace, or (with `attach`) the network
/// namespace whose descriptor travels with the request.
public struct CreateCell: NetnsdMessage {
    public static let messageType = MessageType.createCell
    public var cellID: CellID
    public var policy: EgressPolicy
    public var attach: Bool

    public init(cellID: CellID, policy: EgressPolicy, attach: Bool = false) {
        self.cellID = cellID
        self.policy = policy
        self.attach = attach
    }

    public var descriptorCount: Int { attach ? 1 : 0 }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(attach)
        PolicyCoding.encode(policy, to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        attach = try reader.readBool("attach")
        policy = try PolicyCoding.decode(from: &reader)
    }
}

/// The reply to `CreateCell`: the cell's descriptors, named in order
/// (`netns`, `dns-udp`, `dns-tcp`, `nflog` when the cell has one, `l7-tcp`,
/// the egress proxy's listener, when its policy has an L7 section, and after it
/// `l7-tcp6`, the IPv6 loopback listener, in transparent mode when the cell has IPv6).
public struct CellCreated: NetnsdMessage {
    public static let messageType = MessageType.cellCreated
    public static let requiredNames = ["netns", "dns-udp", "dns-tcp"]
    /// What may follow the required names, in this order only.
    public static let optionalNameSequences: [[String]] = [
        [], ["nflog"], ["l7-tcp"], ["nflog", "l7-tcp"], ["l7-tcp", "l7-tcp6"], ["nflog", "l7-tcp", "l7-tcp6"],
    ]
    public var cellID: CellID
    public var names: [String]

    public init(cellID: CellID, names: [String]) {
        self.cellID = cellID
        self.names = names
    }

    public var descriptorCount: Int { names.count }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(names)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        names = try reader.readStrings("names", maxCount: Self.requiredNames.count + 3)
        let optional = Array(names.dropFirst(Self.requiredNames.count))
        guard names.starts(with: Self.requiredNames), Self.optionalNameSequences.contains(optional) else {
            throw .invalidField(field: "names", reason: "must be netns, dns-udp, dns-tcp[, nflog][, l7-tcp[, l7-tcp6]]")
        }
    }
}

/// Destroys one of the caller's cells. Idempotent for a cell this connection created.
public struct DestroyCell: NetnsdMessage {
    public static let messageType = MessageType.destroyCell
    public var cellID: CellID

    public init(cellID: CellID) { self.cellID = cellID }

    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }

    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// The reply to `DestroyCell`.
public struct CellDestroyed: NetnsdMessage {
    public static let messageType = MessageType.cellDestroyed
    public var cellID: CellID

    public init(cellID: CellID) { self.cellID = cellID }

    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }

    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// Asks for the per-rule packet/byte counters of one of the caller's cells.
public struct ReadCounters: NetnsdMessage {
    public static let messageType = MessageType.readCounters
    public var cellID: CellID

    public init(cellID: CellID) { self.cellID = cellID }

    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }

    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// The reply to `ReadCounters`: one entry per rule label in chain order.
public struct CountersReport: NetnsdMessage {
    public static let messageType = MessageType.countersReport
    /// Allow rules plus the fixed labels (established, resolver, ndp, dns, default).
    public static let maxEntries = EgressPolicy.maxRules + 8

    public struct Entry: Equatable, Sendable {
        public var label: String
        public var packets: UInt64
        public var bytes: UInt64

        public init(label: String, packets: UInt64, bytes: UInt64) {
            self.label = label
            self.packets = packets
            self.bytes = bytes
        }
    }

    public var cellID: CellID
    public var entries: [Entry]

    public init(cellID: CellID, entries: [Entry]) {
        self.cellID = cellID
        self.entries = entries
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(UInt32(entries.count))
        for entry in entries {
            writer.write(entry.label)
            writer.write(entry.packets)
            writer.write(entry.bytes)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        let count: UInt32 = try reader.read("entries")
        guard count <= UInt32(Self.maxEntries) else {
            throw .invalidField(field: "entries", reason: "\(count) entries exceed \(Self.maxEntries)")
        }
        // Each entry takes at least 4 + 8 + 8 bytes: check before allocating.
        guard Int(count) * 20 <= reader.remaining else { throw .truncatedPayload(field: "entries") }
        var entries: [Entry] = []
        for index in 0..<Int(count) {
            let label = try reader.readString("entries[\(index)].label", limit: 16)
            guard !label.isEmpty else { throw .invalidField(field: "entries[\(index)].label", reason: "empty") }
            let packets: UInt64 = try reader.read("entries[\(index)].packets")
            let bytes: UInt64 = try reader.read("entries[\(index)].bytes")
            entries.append(Entry(label: label, packets: packets, bytes: bytes))
        }
        self.entries = entries
    }
}

/// A resource limit for a workload, by its `ulimit` name.
public struct ResourceLimit: Equatable, Sendable {
    /// The names accepted, with their RLIMIT_* numbers (Linux, all architectures).
    public static let resources: [String: Int32] = [
        "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "nproc": 6, "nofile": 7, "memlock": 8, "as": 9,
    ]

    public var name: String
    public var soft: UInt64
    public var hard: UInt64

    public init(name: String, soft: UInt64, hard: UInt64, field: String = "limits") throws(WireError) {
        guard Self.resources[name] != nil else {
            throw .invalidField(field: "\(field).name", reason: "'\(name)' is not one of \(Self.resources.keys.sorted().joined(separator: ", "))")
        }
        guard soft <= hard else { throw .invalidField(field: "\(field)", reason: "soft limit \(soft) is above hard limit \(hard)") }
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    public var resource: Int32 { Self.resources[name]! }
}

/// Which seccomp filter a workload gets (`SpawnWorkload.seccompProfile`).
public enum SeccompProfile: UInt8, Sendable, Equatable, CaseIterable {
    /// Denies changing the sandbox and reaching other processes (ptrace,
    /// pidfd_getfd, process_vm_readv/writev, kcmp) or the kernel.
    case baseline = 0
    /// The baseline, plus socket families other than AF_UNIX/AF_INET/AF_INET6,
    /// personality, userfaultfd and io_uring.
    case strict = 1

    public var name: String { self == .baseline ? "baseline" : "strict" }
}

/// Starts the cell's workload inside the cell netns, parked before `execve`
/// until `StartWorkload`. With `stdio`, the frame carries three descriptors
/// (the client's stdin, stdout, stderr) that become the workload's 0, 1, 2;
/// without, the workload gets /dev/null there. Then one sealed memfd per
/// `secretFiles` entry, in order.
public struct SpawnWorkload: NetnsdMessage {
    public static let messageType = MessageType.spawnWorkload
    public static let maxArguments = 256
    public static let maxEnvironment = 256
    public static let maxStringLength = 4096
    public static let maxLimits = 16

    public var cellID: CellID
    public var path: String
    public var arguments: [String]
    public var environment: [String]
    public var workingDirectory: String
    /// Both nil: the daemon gives the cell its own id pair (`--workload-ids`);
    /// both set: these ids. On the wire one tag byte says which, so "only one
    /// set" cannot be encoded.
    public var uid: UInt32?
    public var gid: UInt32?
    /// An absolute directory on which the workload gets a private tmpfs.
    public var workspace: String?
    public var limits: [ResourceLimit]
    /// Whether three stdio descriptors travel with the request.
    public var stdio: Bool
    public var seccompProfile: SeccompProfile
    /// Whether the workload is pid 1 of a new PID namespace (with its own /proc).
    /// Default on; false is an explicit opt-out.
    public var pidNamespace: Bool
    /// Whether the workload gets a new root (a tmpfs with read-only binds of the
    /// system directories) instead of the host's tree. Default on; false is an
    /// explicit opt-out and then `mounts` must be empty.
    public var filesystemView: Bool
    /// Extra host paths bound into the view (needs `filesystemView`).
    public var mounts: [BindMount]
    /// cgroup memory/pids/cpu limits (each nil = unlimited). On the wire they
    /// trail `mounts` and are absent when all nil.
    public var cgroupLimits: CgroupLimits
    /// Secrets written to `/run/secrets/<name>` in the view (needs `filesystemView`);
    /// their memfds follow the stdio descriptors. On the wire a count byte after `mounts`.
    public var secretFiles: [SecretFile]

    public var descriptorCount: Int { (stdio ? 3 : 0) + secretFiles.count }
    /// The index in the frame's descriptors of `secretFiles[0]`'s memfd.
    public var firstSecretDescriptor: Int { stdio ? 3 : 0 }

    /// Checks the fields that decoding alone cannot: absolute paths, argv[0]
    /// present, `KEY=VALUE` environment, uid and gid both set or both nil, mounts.
    public init(
        cellID: CellID, path: String, arguments: [String], environment: [String] = [], workingDirectory: String = "/",
        uid: UInt32? = nil, gid: UInt32? = nil, workspace: String? = nil, limits: [ResourceLimit] = [], stdio: Bool = false,
        seccompProfile: SeccompProfile = .baseline, pidNamespace: Bool = true, filesystemView: Bool = true, mounts: [BindMount] = [],
        cgroupLimits: CgroupLimits = CgroupLimits.unlimited, secretFiles: [SecretFile] = []
    ) throws(WireError) {
        self.cgroupLimits = cgroupLimits
        self.secretFiles = secretFiles
        self.pidNamespace = pidNamespace
        self.filesystemView = filesystemView
        self.mounts = mounts
        self.seccompProfile = seccompProfile
        self.stdio = stdio
        self.workspace = workspace
        self.limits = limits
        self.cellID = cellID
        self.path = path
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        try validate()
    }

    func validate() throws(WireError) {
        guard path.hasPrefix("/") else { throw .invalidField(field: "path", reason: "must be absolute") }
        guard !arguments.isEmpty else { throw .invalidField(field: "arguments", reason: "argv[0] is required") }
        for (index, entry) in environment.enumerated() {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw .invalidField(field: "environment[\(index)]", reason: "must be KEY=VALUE")
            }
        }
        guard workingDirectory.hasPrefix("/") else { throw .invalidField(field: "working_directory", reason: "must be absolute") }
        // uid/gid 0 are valid on the wire: whether root workloads are allowed is
        // the daemon's configuration (`--allow-root-workloads`), checked there.
        guard (uid == nil) == (gid == nil) else {
            throw .invalidField(field: "uid/gid", reason: "set both (explicit ids) or neither (the daemon allocates them)")
        }
        if let workspace, !workspace.hasPrefix("/") || workspace.contains(",") {
            throw .invalidField(field: "workspace", reason: "must be an absolute path without ','")
        }
        guard limits.count <= Self.maxLimits else { throw .invalidField(field: "limits", reason: "more than \(Self.maxLimits)") }
        guard Set(limits.map(\.name)).count == limits.count else { throw .invalidField(field: "limits", reason: "a resource is listed twice") }
        try BindMount.checkList(mounts)
        guard filesystemView || mounts.isEmpty else {
            throw .invalidField(field: "mounts", reason: "need the filesystem view (filesystem_view is off)")
        }
        try SecretFile.checkList(secretFiles)
        guard filesystemView || secretFiles.isEmpty else {
            throw .invalidField(field: "secret_files", reason: "need the filesystem view (its private /run holds them)")
        }
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(path)
        writer.write(arguments)
        writer.write(environment)
        writer.write(workingDirectory)
        IDPairCoding.write(uid: uid, gid: gid, to: &writer)
        writer.write(optional: workspace)
        writer.write(UInt32(limits.count))
        for limit in limits {
            writer.write(limit.name)
            writer.write(limit.soft)
            writer.write(limit.hard)
        }
        writer.write(stdio)
        writer.write(seccompProfile.rawValue)
        writer.write(pidNamespace)
        writer.write(filesystemView)
        writer.write(UInt8(mounts.count))
        for mount in mounts { mount.encode(to: &writer) }
        writer.write(UInt8(truncatingIfNeeded: secretFiles.count))
        for file in secretFiles { file.encode(to: &writer) }
        // Left out when empty: one encoding per message (the decoder refuses an empty block).
        if !cgroupLimits.isEmpty { cgroupLimits.encode(to: &writer) }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        path = try reader.readString("path", limit: Self.maxStringLength)
        arguments = try reader.readStrings("arguments", maxCount: Self.maxArguments)
        environment = try reader.readStrings("environment", maxCount: Self.maxEnvironment)
        workingDirectory = try reader.readString("working_directory", limit: Self.maxStringLength)
        (uid, gid) = try IDPairCoding.read(&reader, errorField: "uid/gid", absent: "allocate", present: "explicit")
        workspace = try reader.readOptionalString("workspace")
        if let workspace, workspace.utf8.count > Self.maxStringLength {
            throw .invalidField(field: "workspace", reason: "longer than \(Self.maxStringLength) bytes")
        }
        let count: UInt32 = try reader.read("limits")
        guard count <= UInt32(Self.maxLimits) else { throw .invalidField(field: "limits", reason: "\(count) exceed \(Self.maxLimits)") }
        var limits: [ResourceLimit] = []
        for index in 0..<Int(count) {
            let name = try reader.readString("limits[\(index)].name", limit: 16)
            let soft: UInt64 = try reader.read("limits[\(index)].soft")
            let hard: UInt64 = try reader.read("limits[\(index)].hard")
            limits.append(try ResourceLimit(name: name, soft: soft, hard: hard, field: "limits[\(index)]"))
        }
        self.limits = limits
        stdio = try reader.readBool("stdio")
        let raw: UInt8 = try reader.read("seccomp_profile")
        guard let profile = SeccompProfile(rawValue: raw) else {
            throw .invalidField(field: "seccomp_profile", reason: "\(raw) is neither 0 (baseline) nor 1 (strict)")
        }
        seccompProfile = profile
        // Required (no default for a frame that ends early): a short frame is
        // refused rather than read as "no PID namespace, host tree".
        pidNamespace = try reader.readBool("pid_namespace")
        filesystemView = try reader.readBool("filesystem_view")
        let mountCount: UInt8 = try reader.read("mounts")
        guard Int(mountCount) <= BindMount.maxCount else {
            throw .invalidField(field: "mounts", reason: "\(mountCount) entries exceed \(BindMount.maxCount)")
        }
        var mounts: [BindMount] = []
        for index in 0..<Int(mountCount) { mounts.append(try BindMount(from: &reader, index: index)) }
        self.mounts = mounts
        let secretCount: UInt8 = try reader.read("secret_files")
        guard Int(secretCount) <= SecretFile.maxCount else {
            throw .invalidField(field: "secret_files", reason: "\(secretCount) entries exceed \(SecretFile.maxCount)")
        }
        var secretFiles: [SecretFile] = []
        for index in 0..<Int(secretCount) { secretFiles.append(try SecretFile(from: &reader, index: index)) }
        self.secretFiles = secretFiles
        cgroupLimits = reader.remaining > 0 ? try CgroupLimits(from: &reader) : CgroupLimits.unlimited
        for (index, value) in (arguments + environment).enumerated() where value.utf8.count > Self.maxStringLength {
            throw .invalidField(field: "arguments/environment[\(index)]", reason: "longer than \(Self.maxStringLength) bytes")
        }
        try validate()
    }
}

/// The reply to `SpawnWorkload`: the parked workload's pid, the ids it runs as,
/// which confinement layers were applied, and for each cgroup limit the request
/// asked for, how it was applied (or why it was not).
public struct WorkloadSpawned: NetnsdMessage {
    public static let messageType = MessageType.workloadSpawned
    public var cellID: CellID
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Exactly the layers of `ConfinementLayer.names`, in that order.
    public var confinement: [ConfinementLayer]
    /// One entry per requested limit, in the order memory, pids, cpu. On the wire
    /// it trails `confinement` and is absent when empty.
    public var enforcement: [LimitEnforcement]

    public init(
        cellID: CellID, pid: Int32, uid: UInt32, gid: UInt32, confinement: [ConfinementLayer], enforcement: [LimitEnforcement] = []
    ) {
        self.cellID = cellID
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.confinement = confinement
        self.enforcement = enforcement
    }

    /// The requested limits the workload runs without.
    public var notEnforced: [LimitEnforcement] { enforcement.filter { !$0.isEnforced } }

    /// The layer named `name` (one of `ConfinementLayer.names`).
    public func layer(_ name: String) -> ConfinementLayer? { confinement.first { $0.name == name } }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(pid)
        writer.write(uid)
        writer.write(gid)
        writer.write(UInt8(truncatingIfNeeded: confinement.count))
        for layer in confinement { layer.encode(to: &writer) }
        // Left out when empty: one encoding per message (the decoder refuses an empty list).
        guard !enforcement.isEmpty else { return }
        writer.write(UInt8(enforcement.count))
        for entry in enforcement { entry.encode(to: &writer) }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        pid = try reader.read("pid")
        guard pid > 0 else { throw .invalidField(field: "pid", reason: "must be positive") }
        uid = try reader.read("uid")
        gid = try reader.read("gid")
        let layers: UInt8 = try reader.read("confinement")
        guard Int(layers) == ConfinementLayer.names.count else {
            throw .invalidField(field: "confinement", reason: "\(layers) layers, expected \(ConfinementLayer.names.count)")
        }
        var confinement: [ConfinementLayer] = []
        for index in 0..<Int(layers) { confinement.append(try ConfinementLayer(from: &reader, index: index)) }
        self.confinement = confinement
        var enforcement: [LimitEnforcement] = []
        if reader.remaining > 0 {
            let count: UInt8 = try reader.read("enforcement")
            guard (1...CgroupLimitKind.allCases.count).contains(Int(count)) else {
                throw .invalidField(field: "enforcement", reason: "\(count) entries, expected 1-\(CgroupLimitKind.allCases.count) (none are sent as no list)")
            }
            for index in 0..<Int(count) {
                let entry = try LimitEnforcement(from: &reader, index: index)
                guard enforcement.allSatisfy({ $0.limit.rawValue < entry.limit.rawValue }) else {
                    throw .invalidField(field: "enforcement[\(index)].limit", reason: "\(entry.limit) repeated or out of order (memory, pids, cpu)")
                }
                enforcement.append(entry)
            }
        }
        self.enforcement = enforcement
    }
}

/// Lets the parked workload `execve` (permitted once, after `SpawnWorkload`).
public struct StartWorkload: NetnsdMessage {
    public static let messageType = MessageType.startWorkload
    public var cellID: CellID
    public init(cellID: CellID) { self.cellID = cellID }
    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }
    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// The reply to `StartWorkload`.
public struct WorkloadStarted: NetnsdMessage {
    public static let messageType = MessageType.workloadStarted
    public var cellID: CellID
    public init(cellID: CellID) { self.cellID = cellID }
    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }
    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// Sends a signal to the cell's workload (parked or running).
public struct SignalWorkload: NetnsdMessage {
    public static let messageType = MessageType.signalWorkload
    public var cellID: CellID
    public var signal: Int32

    public init(cellID: CellID, signal: Int32) throws(WireError) {
        self.cellID = cellID
        self.signal = signal
        guard (1...64).contains(signal) else { throw .invalidField(field: "signal", reason: "must be 1-64") }
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(signal)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        signal = try reader.read("signal")
        guard (1...64).contains(signal) else { throw .invalidField(field: "signal", reason: "must be 1-64") }
    }
}

/// The reply to `SignalWorkload`.
public struct WorkloadSignalled: NetnsdMessage {
    public static let messageType = MessageType.workloadSignalled
    public var cellID: CellID
    public init(cellID: CellID) { self.cellID = cellID }
    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }
    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// The workload was reaped: its exit code, or the signal that ended it, and its
/// resource usage as `wait4` reported it.
public struct WorkloadExited: NetnsdMessage {
    public static let messageType = MessageType.workloadExited
    public var cellID: CellID
    /// Exit code, or nil when a signal ended it.
    public var exitCode: Int32?
    /// The terminating signal, or nil when it exited.
    public var signal: Int32?
    public var userMicroseconds: UInt64
    public var systemMicroseconds: UInt64
    public var maxResidentKilobytes: UInt64

    public init(
        cellID: CellID, exitCode: Int32?, signal: Int32?, userMicroseconds: UInt64 = 0, systemMicroseconds: UInt64 = 0,
        maxResidentKilobytes: UInt64 = 0
    ) {
        self.cellID = cellID
        self.exitCode = exitCode
        self.signal = signal
        self.userMicroseconds = userMicroseconds
        self.systemMicroseconds = systemMicroseconds
        self.maxResidentKilobytes = maxResidentKilobytes
    }

    /// The same exit, ignoring resource usage (which varies run to run).
    public func sameOutcome(as other: WorkloadExited) -> Bool {
        cellID == other.cellID && exitCode == other.exitCode && signal == other.signal
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(optional: exitCode)
        writer.write(optional: signal)
        writer.write(userMicroseconds)
        writer.write(systemMicroseconds)
        writer.write(maxResidentKilobytes)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        exitCode = try reader.readOptional("exit_code")
        signal = try reader.readOptional("signal")
        guard (exitCode == nil) != (signal == nil) else {
            throw .invalidField(field: "exit_code/signal", reason: "exactly one must be present")
        }
        userMicroseconds = try reader.read("user_usec")
        systemMicroseconds = try reader.read("system_usec")
        maxResidentKilobytes = try reader.read("max_rss_kb")
    }
}

enum CellIDCoding {
    static func read(_ reader: inout WireReader) throws(WireError) -> CellID {
        let raw = try reader.readString("cell_id", limit: 64)
        do {
            return try CellID(raw)
        } catch {
            throw .invalidField(field: "cell_id", reason: CellID.rule)
        }
    }
}

/// The egress policy on the wire: resolver text, NFLOG group, log rate, then the
/// allow rules as text fields, each re-validated by the policy model on decode,
/// then, as a trailer, the L7 section (listener text, mode, ports, names): it is
/// CreateCell's last field, absent without one (no name-based egress).
enum PolicyCoding {
    static func decodeL7(from reader: inout WireReader) throws -> L7Egress {
        let listener = try ResolverAddress(parsing: try reader.readString("policy.l7.listener", limit: 64), field: "policy.l7.listener")
        let modeText = try reader.readString("policy.l7.mode", limit: 16)
        guard let mode = L7Mode(rawValue: modeText) else {
            throw WireError.invalidField(field: "policy.l7.mode", reason: "'\(modeText)' is not transparent, explicit or both")
        }
        let portCount: UInt32 = try reader.read("policy.l7.ports")
        guard portCount <= UInt32(L7Egress.maxPorts) else {
            throw WireError.invalidField(field: "policy.l7.ports", reason: "\(portCount) ports exceed \(L7Egress.maxPorts)")
        }
        var ports: [UInt16] = []
        for index in 0..<Int(portCount) { ports.append(try reader.read("policy.l7.ports[\(index)]")) }
        let names = try reader.readStrings("policy.l7.names", maxCount: L7Egress.maxNames)
        return try L7Egress(names: names, ports: ports, mode: mode, listener: listener)
    }

    static func encode(_ policy: EgressPolicy, to writer: inout WireWriter) {
        writer.write(policy.resolver.description)
        writer.write(policy.nflogGroup)
        writer.write(policy.logRate.packetsPerSecond)
        writer.write(policy.logRate.burst)
        writer.write(UInt32(policy.allow.count))
        for rule in policy.allow {
            writer.write(rule.id)
            writer.write(rule.destination.description)
            writer.write(rule.transport.rawValue)
            writer.write(optional: rule.ports?.description)
        }
        // A trailer (docs/ipcwire.md): present only with an L7 section, the payload's last field.
        if let l7 = policy.l7 {
            writer.write(l7.listener.description)
            writer.write(l7.mode.rawValue)
            writer.write(UInt32(l7.ports.count))
            for port in l7.ports { writer.write(port) }
            writer.write(l7.names)
        }
    }

    static func decode(from reader: inout WireReader) throws(WireError) -> EgressPolicy {
        do {
            let resolver = try ResolverAddress(parsing: try reader.readString("policy.resolver", limit: 64), field: "policy.resolver")
            let group: UInt16 = try reader.read("policy.nflog_group")
            let rate: UInt32 = try reader.read("policy.log_rate")
            let burst: UInt32 = try reader.read("policy.log_burst")
            let logRate = try FlowLogRateLimit(packetsPerSecond: rate, burst: burst)
            let count: UInt32 = try reader.read("policy.allow")
            guard count <= UInt32(EgressPolicy.maxRules) else {
                throw WireError.invalidField(field: "policy.allow", reason: "\(count) rules exceed \(EgressPolicy.maxRules)")
            }
            // Each rule takes at least 2 + 4 + 4 + 1 bytes: check before allocating.
            guard Int(count) * 11 <= reader.remaining else { throw WireError.truncatedPayload(field: "policy.allow") }
            var rules: [AllowRule] = []
            for index in 0..<Int(count) {
                let field = "policy.allow[\(index)]"
                let id: UInt16 = try reader.read("\(field).id")
                let destination = try reader.readString("\(field).destination", limit: 64)
                let transport = try reader.readString("\(field).protocol", limit: 8)
                let ports = try reader.readOptionalString("\(field).ports")
                guard (ports?.utf8.count ?? 0) <= 11 else {
                    throw WireError.invalidField(field: "\(field).ports", reason: "longer than 11 bytes")
                }
                rules.append(try AllowRule(id: id, destination: destination, transport: transport, ports: ports, field: field))
            }
            let l7 = reader.remaining > 0 ? try decodeL7(from: &reader) : nil
            return try EgressPolicy(allow: rules, resolver: resolver, nflogGroup: group, logRate: logRate, l7: l7)
        } catch let error as WireError {
            throw error
        } catch let error as PolicyError {
            guard case .invalidField(let field, let value, let reason) = error else { throw .invalidField(field: "policy", reason: "\(error)") }
            throw .invalidField(field: field, reason: "'\(value)': \(reason)")
        } catch {
            throw .invalidField(field: "policy", reason: "\(error)")
        }
    }
}

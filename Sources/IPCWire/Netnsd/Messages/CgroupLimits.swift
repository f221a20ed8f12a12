/// A workload's cgroup limits (`SpawnWorkload.cgroupLimits`); nil means
/// unlimited. Checked on construction and on decoding, before netnsd acts.
public struct CgroupLimits: Equatable, Sendable {
    /// Below this a workload cannot even exec a shell; smaller values are typos.
    public static let minimumMemoryBytes: UInt64 = 1 << 20
    /// 4 PiB: far above any host, well below the kernel's page-counter ceiling.
    public static let maximumMemoryBytes: UInt64 = 1 << 52
    /// The kernel's PID_MAX_LIMIT.
    public static let maximumPids: UInt32 = 4_194_304
    /// One percent is the kernel's minimum CFS quota (1 ms per 100 ms period);
    /// 102400 percent is 1024 CPUs.
    public static let cpuPercentRange: ClosedRange<UInt32> = 1...102_400

    /// `memory.max` (v2) / `memory.limit_in_bytes` (v1), bytes; swap included.
    public var memoryMaxBytes: UInt64?
    /// `pids.max`: processes and threads.
    public var pidsMax: UInt32?
    /// `cpu.max` (v2) / `cpu.cfs_quota_us` (v1) as percent of one CPU.
    public var cpuPercent: UInt32?

    public init(memoryMaxBytes: UInt64? = nil, pidsMax: UInt32? = nil, cpuPercent: UInt32? = nil) throws(WireError) {
        self.memoryMaxBytes = memoryMaxBytes
        self.pidsMax = pidsMax
        self.cpuPercent = cpuPercent
        try validate()
    }

    /// No limit asked for at all.
    public var isEmpty: Bool { memoryMaxBytes == nil && pidsMax == nil && cpuPercent == nil }

    /// The limits asked for, in the fixed order memory, pids, cpu.
    public var requested: [CgroupLimitKind] {
        [memoryMaxBytes != nil ? .memory : nil, pidsMax != nil ? .pids : nil, cpuPercent != nil ? .cpu : nil].compactMap { $0 }
    }

    func validate() throws(WireError) {
        if let memoryMaxBytes, !(Self.minimumMemoryBytes...Self.maximumMemoryBytes).contains(memoryMaxBytes) {
            throw .invalidField(
                field: "cgroup_limits.memory_max",
                reason: "\(memoryMaxBytes) bytes is outside \(Self.minimumMemoryBytes)...\(Self.maximumMemoryBytes) (1 MiB to 4 PiB)")
        }
        if let pidsMax, !(1...Self.maximumPids).contains(pidsMax) {
            throw .invalidField(field: "cgroup_limits.pids_max", reason: "\(pidsMax) is outside 1...\(Self.maximumPids)")
        }
        if let cpuPercent, !Self.cpuPercentRange.contains(cpuPercent) {
            throw .invalidField(
                field: "cgroup_limits.cpu_percent",
                reason: "\(cpuPercent) is outside \(Self.cpuPercentRange.lowerBound)...\(Self.cpuPercentRange.upperBound)")
        }
    }

    func encode(to writer: inout WireWriter) {
        writer.write(optional: memoryMaxBytes)
        writer.write(optional: pidsMax)
        writer.write(optional: cpuPercent)
    }

    init(from reader: inout WireReader) throws(WireError) {
        memoryMaxBytes = try reader.readOptional("cgroup_limits.memory_max")
        pidsMax = try reader.readOptional("cgroup_limits.pids_max")
        cpuPercent = try reader.readOptional("cgroup_limits.cpu_percent")
        // Strict: encoders leave an empty block out, so one decoding as empty is malformed.
        guard !isEmpty else { throw .invalidField(field: "cgroup_limits", reason: "present but empty (no limits are sent as no block)") }
        try validate()
    }
}

/// The three cgroup limits a workload can ask for, by controller.
public enum CgroupLimitKind: UInt8, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case memory = 0
    case pids = 1
    case cpu = 2

    /// The controller's name (also the limit's name in logs and events).
    public var description: String {
        switch self {
        case .memory: "memory"
        case .pids: "pids"
        case .cpu: "cpu"
        }
    }
}

/// How netnsd applied one requested limit (`WorkloadSpawned.enforcement`).
public struct LimitEnforcement: Equatable, Sendable {
    public enum Mechanism: Equatable, Sendable {
        case cgroupV2
        case cgroupV1
        /// Not applied; the workload runs without it.
        case notEnforced(reason: String)

        var code: UInt8 {
            switch self {
            case .notEnforced: 0
            case .cgroupV2: 2
            case .cgroupV1: 1
            }
        }
    }

    public static let maxReasonLength = 512

    public var limit: CgroupLimitKind
    public var mechanism: Mechanism

    public init(_ limit: CgroupLimitKind, _ mechanism: Mechanism) {
        self.limit = limit
        self.mechanism = mechanism
    }

    public var isEnforced: Bool {
        if case .notEnforced = mechanism { return false }
        return true
    }

    /// "v2", "v1" or "not enforced: <reason>".
    public var summary: String {
        switch mechanism {
        case .cgroupV2: "v2"
        case .cgroupV1: "v1"
        case .notEnforced(let reason): "not enforced: \(reason)"
        }
    }

    func encode(to writer: inout WireWriter) {
        writer.write(limit.rawValue)
        writer.write(mechanism.code)
        if case .notEnforced(let reason) = mechanism { writer.write(reason) }
    }

    init(from reader: inout WireReader, index: Int) throws(WireError) {
        let field = "enforcement[\(index)]"
        let raw: UInt8 = try reader.read("\(field).limit")
        guard let limit = CgroupLimitKind(rawValue: raw) else {
            throw .invalidField(field: "\(field).limit", reason: "\(raw) is not 0 (memory), 1 (pids) or 2 (cpu)")
        }
        self.limit = limit
        let code: UInt8 = try reader.read("\(field).mechanism")
        switch code {
        case 2: mechanism = .cgroupV2
        case 1: mechanism = .cgroupV1
        case 0:
            let reason = try reader.readString("\(field).reason", limit: Self.maxReasonLength)
            guard !reason.isEmpty else { throw .invalidField(field: "\(field).reason", reason: "empty") }
            mechanism = .notEnforced(reason: reason)
        default:
            throw .invalidField(field: "\(field).mechanism", reason: "\(code) is not 0 (not enforced), 1 (v1) or 2 (v2)")
        }
    }
}

extension CgroupLimits {
    /// No limits (every field nil).
    public static let unlimited = try! CgroupLimits()
}

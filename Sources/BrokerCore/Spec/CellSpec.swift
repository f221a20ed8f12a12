/// What the user asks the broker to run: one workload and the policy around it.
/// Decoded from the versioned JSON spec (`CellSpecDecoder`) or built from the
/// `run` flag shortcuts (`RunShortcuts`); docs/broker.md documents every field.
public struct CellSpec: Equatable, Sendable {
    public static let version = 1

    public var id: String
    public var argv: [String]
    public var environment: [String: String]
    public var workingDirectory: String
    /// Both nil (the default): netnsd allocates the cell's own ids. Both set:
    /// explicit ids (`WorkloadIDCheck` refuses the broker's own and lone zeros).
    public var uid: UInt32?
    public var gid: UInt32?
    public var limits: ResourceLimits
    public var timeout: SpecDuration
    /// Time between SIGTERM and SIGKILL when the timeout expires.
    public var grace: SpecDuration
    public var dns: DNSPolicy
    public var egress: [EgressRule]
    /// Name-based HTTPS/HTTP egress through cellos-egressproxy; nil: none.
    public var l7: L7Spec?
    public var flowLog: Bool
    public var namespaces: [ExtraNamespace]
    /// The workload is pid 1 of its own PID namespace; false is an opt-out (warned, recorded).
    public var pidNamespace: Bool
    /// Host paths bound into the workload's filesystem view.
    public var mounts: [SpecMount]
    /// A private tmpfs owned by the workload's ids at this path; nil: none.
    public var workspace: String?
    /// Secrets read at run time and handed to the workload (never written into the spec itself).
    public var secrets: [SpecSecret] = []

    public static let defaultWorkspace = "/workspace"

    /// The defaults every field falls back to: ids allocated by netnsd, a private
    /// PID namespace, a /workspace tmpfs that is also the working directory, no
    /// mounts, 256 MiB, 256 pids, one CPU, 1024 open files, 30 s timeout with 2 s
    /// grace, no names, no egress, flow logging on.
    public static func defaults(id: String, argv: [String]) -> CellSpec {
        CellSpec(
            id: id, argv: argv, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"], workingDirectory: defaultWorkspace,
            uid: nil, gid: nil, limits: ResourceLimits(),
            timeout: SpecDuration(milliseconds: 30_000), grace: SpecDuration(milliseconds: 2_000),
            dns: DNSPolicy(), egress: [], flowLog: true, namespaces: [], pidNamespace: true, mounts: [], workspace: defaultWorkspace)
    }
}

public struct ResourceLimits: Equatable, Sendable {
    /// cgroup `memory.max`, bytes.
    public var memoryBytes: UInt64 = 256 << 20
    /// cgroup `pids.max`.
    public var pids: Int = 256
    /// cgroup `cpu.max` as percent of one CPU (100 = one full CPU).
    public var cpuPercent: Int = 100
    /// `RLIMIT_NOFILE`.
    public var openFiles: Int = 1024

    public init() {}
}

public struct DNSPolicy: Equatable, Sendable {
    /// Whether the cell gets the DNS proxy at all (off: no resolver in the cell).
    public var enabled = true
    public var allow: [DNSNamePattern] = []
    public var queryTypes: [String] = DNSPolicy.defaultQueryTypes
    /// nil: the host's first `/etc/resolv.conf` nameserver.
    public var upstream: SocketAddress?

    public static let defaultQueryTypes = ["A", "AAAA", "CNAME", "HTTPS"]

    public init() {}
}

/// Namespaces the workload gets besides its network namespace.
public enum ExtraNamespace: String, Equatable, Sendable, CaseIterable {
    case mount, pid, ipc, uts
}

/// A positive span of time as written in a spec or flag (`30s`, `500ms`, `2m`).
public struct SpecDuration: Equatable, Sendable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public var description: String {
        if milliseconds % 60_000 == 0 && milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }
}

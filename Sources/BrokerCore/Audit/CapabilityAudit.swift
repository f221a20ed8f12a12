import HelperRuntime

/// One helper's audit: what it declares, what a running instance holds, and
/// whether it holds more. A capability in the effective, permitted, inheritable or
/// ambient set beyond the declaration is excess. So is one in the bounding set,
/// unless `no_new_privs` is set: without it, an `execve` of a set-uid or
/// file-capability binary could raise the process up to its bounding set.
public struct CapabilityAudit: Equatable, Sendable {
    public struct Excess: Equatable, Sendable {
        public var set: String
        public var capabilities: [String]
    }

    public var helper: String
    public var declared: DeclaredCapabilities
    public var pid: Int32?
    public var status: ProcessStatus?
    /// Why there is no status (not running, unreadable) when `status` is nil.
    public var statusNote: String?
    /// Whether the inspected process is dumpable (nil: not known, e.g. a root
    /// process). Reported, not judged: netnsd runs as root.
    public var dumpable: Bool?
    /// The cell this process belongs to (the live audit), nil otherwise.
    public var cell: String?
    /// The live audit's rule for the broker, its helpers and workloads: nothing in
    /// any set, bounding included whatever no_new_privs says, and no_new_privs and
    /// a seccomp filter (`Seccomp: 2`) on.
    public var requiresConfinement = false
    /// The uid every one of its ids must be (a workload: the uid its cell reported).
    public var expectedUID: UInt32?
    /// Problems found outside its status, e.g. a layer its cell reported not applied.
    public var findings: [String] = []

    public init(helper: String, declared: DeclaredCapabilities, pid: Int32? = nil, status: ProcessStatus? = nil, statusNote: String? = nil) {
        self.helper = helper
        self.declared = declared
        self.pid = pid
        self.status = status
        self.statusNote = statusNote
    }

    public var excess: [Excess] {
        guard let status else { return [] }
        var sets: [(String, UInt64)] = [
            ("effective", status.effective), ("permitted", status.permitted),
            ("inheritable", status.inheritable), ("ambient", status.ambient),
        ]
        if requiresConfinement || !status.noNewPrivileges { sets.append(("bounding", status.bounding)) }
        return sets.compactMap { name, held in
            let extra = held & ~declared.mask
            return extra == 0 ? nil : Excess(set: name, capabilities: CapabilityNames.names(in: extra))
        }
    }

    public var holdsMoreThanDeclared: Bool { !excess.isEmpty }

    /// What is wrong besides excess capabilities.
    public var violations: [String] {
        var list = findings
        guard let status else { return list }
        if requiresConfinement {
            if !status.noNewPrivileges { list.append("no_new_privs is off") }
            if status.seccompMode != 2 { list.append("seccomp is \(status.seccompDescription), not a filter (Seccomp: 2)") }
        }
        if let expectedUID, status.uids.contains(where: { $0 != expectedUID }) {
            list.append("runs as uid \(status.uids.map(String.init).joined(separator: " ")), not its cell's uid \(expectedUID)")
        }
        return list
    }

    /// Excess capabilities or any violation.
    public var failed: Bool { holdsMoreThanDeclared || !violations.isEmpty }
}

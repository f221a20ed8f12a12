#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The one place a spec becomes netnsd requests. The spec keeps its own address
/// and port types (they carry the spec's error messages and `--allow-egress`
/// syntax); each rule goes to the policy model as text, so netnsd's validation
/// (the same the daemon applies when decoding) runs once more here.
public enum CellRequests {
    public struct Refused: Error, CustomStringConvertible {
        public let description: String
    }

    /// The egress policy of `spec`: rule i of `egress` is `r<i+1>` in counters and flow events.
    public static func policy(_ spec: CellSpec) throws(Refused) -> EgressPolicy {
        do {
            let rules = try spec.egress.enumerated().map { index, rule throws(PolicyError) in
                try AllowRule(
                    id: UInt16(index + 1), destination: rule.destination.description, transport: rule.transport.rawValue,
                    ports: rule.ports.map { "\($0.first)-\($0.last)" }, field: "egress[\(index)]")
            }
            let l7 = try spec.l7.map { l7 throws(PolicyError) in
                try L7Egress(names: l7.names.map(\.description), ports: l7.ports, mode: l7.mode)
            }
            return try EgressPolicy(allow: rules, l7: l7)
        } catch {
            throw Refused(description: "\(error)")
        }
    }

    public static func createCell(_ spec: CellSpec) throws(Refused) -> CreateCell {
        let id: CellID
        do { id = try CellID(spec.id) } catch { throw Refused(description: "\(error)") }
        return CreateCell(cellID: id, policy: try policy(spec))
    }

    /// The SpawnWorkload for `spec`, with the broker's stdio travelling along.
    /// `argv[0]` without a slash is looked up in the spec's own `PATH` (the
    /// workload's environment, not the broker's); netnsd needs an absolute path.
    /// Of `namespaces`, only `pid` is a request (and now redundant with
    /// `pid_namespace`, on by default): netnsd gives every workload new mount, IPC
    /// and UTS namespaces anyway. The filesystem view is always asked for; nil
    /// ids ask netnsd to allocate the cell's own. `secrets` (as `SecretValue.load`
    /// read them): `as: env` ones join the environment, `as: file` ones are listed
    /// in `secretFiles`, whose memfds the caller sends in the same order.
    public static func spawnWorkload(_ spec: CellSpec, secrets: [SecretValue] = []) throws(Refused) -> SpawnWorkload {
        let path = try executablePath(spec.argv[0], searchPath: spec.environment["PATH"] ?? "")
        let variables = (spec.l7?.proxyEnvironment(over: spec.environment) ?? spec.environment).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + secrets.filter { $0.secret.delivery == .env }.map { $0.environmentEntry() }
        do {
            let files = try secrets.filter { $0.secret.delivery == .file }.enumerated().map { index, value throws(WireError) in
                try SecretFile(name: value.secret.name, size: UInt32(value.count), field: "secret_files[\(index)]")
            }
            return try SpawnWorkload(
                cellID: try CellID(spec.id), path: path, arguments: spec.argv,
                environment: variables,
                workingDirectory: spec.workingDirectory, uid: spec.uid, gid: spec.gid, workspace: spec.workspace,
                limits: [try ResourceLimit(name: "nofile", soft: UInt64(spec.limits.openFiles), hard: UInt64(spec.limits.openFiles))],
                stdio: true, pidNamespace: spec.pidNamespace || spec.namespaces.contains(.pid), filesystemView: true,
                mounts: try spec.mounts.enumerated().map { index, mount throws(WireError) in
                    try BindMount(source: mount.source, target: mount.target, writable: mount.writable, field: "mounts[\(index)]")
                },
                cgroupLimits: try cgroupLimits(spec.limits), secretFiles: files)
        } catch {
            throw Refused(description: "\(error)")
        }
    }

    /// The spec's memory, pids and cpu limits for netnsd's cgroups (the spec's
    /// ranges lie within netnsd's, which checks them again).
    public static func cgroupLimits(_ limits: ResourceLimits) throws(WireError) -> CgroupLimits {
        try CgroupLimits(memoryMaxBytes: limits.memoryBytes, pidsMax: UInt32(clamping: limits.pids), cpuPercent: UInt32(clamping: limits.cpuPercent))
    }

    /// The value of `limit` in `limits`, as the spec states it (for events and warnings).
    public static func specValue(of limit: CgroupLimitKind, in limits: ResourceLimits) -> UInt64 {
        switch limit {
        case .memory: limits.memoryBytes
        case .pids: UInt64(limits.pids)
        case .cpu: UInt64(limits.cpuPercent)
        }
    }

    /// The spec field that carries `limit`.
    public static func specField(of limit: CgroupLimitKind) -> String {
        switch limit {
        case .memory: "limits.memory"
        case .pids: "limits.pids"
        case .cpu: "limits.cpu_percent"
        }
    }

    static func executablePath(_ name: String, searchPath: String) throws(Refused) -> String {
        if name.hasPrefix("/") { return name }
        guard !name.contains("/") else { throw Refused(description: "argv[0]: '\(name)' must be absolute or a bare name found in PATH") }
        for directory in searchPath.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw Refused(description: "argv[0]: '\(name)' not found in the spec's PATH '\(searchPath)'")
    }

    /// The verdict a ruleset label stands for (docs/netnsd.md, "The ruleset").
    public static func verdict(ofRule label: String) -> String {
        label == "dns" || label == "default" ? "drop" : "accept"
    }
}

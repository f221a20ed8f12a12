#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// `cellos-broker audit` without `--pid`/`--start`: finds what runs without
/// being told pids. netnsd is the peer of its control socket (SO_PEERCRED);
/// its StatusReport lists the live cells (all of them for an admin peer), each
/// with its owner (the broker) and workload pid. A broker's helpers are its
/// children whose executable is a cellos-dnsproxy or cellos-flowlog; a
/// workload's tree is its pid and every descendant. netnsd is held to its
/// declared set; the broker, helpers and workload processes to nothing at all,
/// with no_new_privs and a seccomp filter, a workload also to its cell's uid
/// and to the pid_namespace, filesystem_view and landlock layers its cell
/// reported applied. Needs root: the broker and helpers are non-dumpable, so
/// their /proc/<pid>/exe is readable by root only.
public enum LiveAudit {
    public static let helperExecutables = ["cellos-dnsproxy", "cellos-flowlog", "cellos-egressproxy"]
    /// The layers a workload must have had applied.
    public static let requiredLayers = ["pid_namespace", "filesystem_view", "landlock"]

    public struct Result: Sendable {
        public var audits: [CapabilityAudit]
        /// What the audit could not cover, e.g. a report limited to this connection's cells.
        public var notes: [String]
        public var scope: StatusReport.Scope?
        public var failed: Bool { audits.contains { $0.failed } }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `netnsdExecutable`: where netnsd's declaration is read from (default: its /proc/<pid>/exe).
    public static func run(socket: String, netnsdExecutable: String? = nil) throws(Failure) -> Result {
        var client: NetnsdClient
        do { client = try NetnsdClient.connect(path: socket) } catch { throw Failure(description: "--netnsd-socket \(socket): \(error)") }
        let netnsdPID: Int32
        do { netnsdPID = try client.connection.peerCredentials().pid } catch {
            throw Failure(description: "--netnsd-socket \(socket): SO_PEERCRED: \(error)")
        }
        let report: StatusReport
        do {
            let reply = try client.request(ReadStatus())
            switch reply.message {
            case .statusReport(let value): report = value
            case .error(let refusal): throw Failure(description: "cellos-netnsd refused ReadStatus: \(refusal.code): \(refusal.message)")
            default: throw Failure(description: "cellos-netnsd answered ReadStatus with \(reply.message)")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "ReadStatus on \(socket): \(error)")
        }
        var notes: [String] = []
        if report.scope == .ownConnection {
            notes.append("uid \(getuid()) is not an admin of cellos-netnsd (--admin-uid/--admin-gid): the report lists only this connection's cells, which are none; only netnsd itself is audited")
        }
        if report.truncated { notes.append("cellos-netnsd's report was truncated (more cells than fit one frame): some cells are not audited") }
        var audits = [netnsd(pid: netnsdPID, executable: netnsdExecutable)]
        var brokersSeen: Set<Int32> = []
        for cell in report.cells {
            if brokersSeen.insert(cell.ownerPID).inserted {
                audits += broker(pid: cell.ownerPID, cell: cell.cellID.value)
            }
            audits += workload(of: cell, notes: &notes)
        }
        return Result(audits: audits, notes: notes, scope: report.scope)
    }

    static func netnsd(pid: Int32, executable: String?) -> CapabilityAudit {
        let path = executable ?? ProcessTree.executable(of: pid)
        let declared = path.map(AuditRunner.declared(executable:))
            ?? DeclaredCapabilities(mask: 0, note: "cannot read /proc/\(pid)/exe; treated as declaring none")
        return AuditRunner.inspect(helper: "cellos-netnsd", declared: declared, pid: pid)
    }

    /// The cell's owner and, when it is a cellos-broker, its helper children.
    static func broker(pid: Int32, cell: String) -> [CapabilityAudit] {
        let name = ProcessTree.executable(of: pid).map(ProcessTree.basename)
        guard name == BrokerRole.executableName else {
            var owner = CapabilityAudit(
                helper: name ?? "owner", declared: DeclaredCapabilities(mask: 0), pid: pid,
                statusNote: "owns cell \(cell) but is not a cellos-broker (\(name.map { "runs \($0)" } ?? "its /proc/\(pid)/exe is unreadable")): not judged")
            owner.cell = cell
            return [owner]
        }
        var audits = [brokerItself(pid: pid, cell: cell)]
        for child in ProcessTree.children(of: pid) {
            guard let executable = ProcessTree.executable(of: child), helperExecutables.contains(ProcessTree.basename(executable)) else { continue }
            audits.append(confined(ProcessTree.basename(executable), pid: child, cell: cell))
        }
        return audits
    }

    /// The workload's process tree; its root also carries the cell's layer findings.
    static func workload(of cell: CellStatus, notes: inout [String]) -> [CapabilityAudit] {
        guard cell.phase == .running, cell.workloadPID > 0 else {
            notes.append("cell \(cell.cellID): workload \(cell.phase.name)\(cell.phase == .parked ? " (parked before execve, pid \(cell.workloadPID))" : ""): no workload process audited")
            return []
        }
        let root = workloadRoot(pid: cell.workloadPID, uid: cell.workloadUID, layer: cell.layer, cell: cell.cellID.value)
        return [root] + ProcessTree.tree(of: cell.workloadPID).dropFirst().map { pid in
            var audit = confined("workload", pid: pid, cell: cell.cellID.value)
            audit.expectedUID = cell.workloadUID
            return audit
        }
    }

    /// The broker by the rule for confined processes (its filter is `SeccompDenylist`).
    static func brokerItself(pid: Int32, cell: String) -> CapabilityAudit {
        confined(BrokerRole.executableName, pid: pid, cell: cell)
    }

    /// A workload's first process: confined, at `uid`, with its cell's required layers applied.
    static func workloadRoot(pid: Int32, uid: UInt32?, layer: (String) -> ConfinementLayer?, cell: String) -> CapabilityAudit {
        var audit = confined("workload", pid: pid, cell: cell)
        audit.expectedUID = uid
        audit.findings = layerFindings(layer)
        return audit
    }

    /// What a workload's cell must report applied (`requiredLayers`), as findings.
    static func layerFindings(_ layer: (String) -> ConfinementLayer?) -> [String] {
        requiredLayers.compactMap { name in
            guard let found = layer(name) else { return "its cell reported no \(name) layer" }
            return found.applied ? nil : "its cell reported \(name) not applied (\(found.detail))"
        }
    }

    static func confined(_ name: String, pid: Int32, cell: String) -> CapabilityAudit {
        var audit = AuditRunner.inspect(helper: name, declared: DeclaredCapabilities(mask: 0), pid: pid)
        audit.cell = cell
        audit.requiresConfinement = true
        return audit
    }

    public static func table(_ result: Result) -> String {
        AuditReport.table(result.audits) + result.notes.map { "note: \($0)\n" }.joined()
    }

    public static func json(_ result: Result) -> JSONValue {
        guard case .object(var members) = AuditReport.json(result.audits) else { return AuditReport.json(result.audits) }
        members["notes"] = .array(result.notes.map(JSONValue.string))
        members["scope"] = .string(result.scope == .allConnections ? "all" : "own")
        return .object(members)
    }
}

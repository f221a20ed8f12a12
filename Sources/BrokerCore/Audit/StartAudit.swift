#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The audit a cell's own trail records (`audit.v1.report`) once its helpers are
/// ready and before the workload is released: the broker itself, each helper and
/// the parked workload, judged by the live audit's rule (nothing in any set,
/// no_new_privs, seccomp; the workload also at its reported uid with its cell's
/// required layers applied). The parked workload already holds exactly what it
/// will run with: every credential change and the seccomp filter come before it
/// parks, and execve under no_new_privs cannot add to them. /proc/PID/status is
/// world-readable, so the dropped broker reads it for non-dumpable helpers and
/// the workload's other uid alike.
public enum StartAudit {
    public static func run(cell: String, helpers: [(name: String, pid: Int32)], workload: WorkloadSpawned) -> [CapabilityAudit] {
        [LiveAudit.brokerItself(pid: getpid(), cell: cell)]
            + helpers.map { LiveAudit.confined($0.name, pid: $0.pid, cell: cell) }
            + [LiveAudit.workloadRoot(pid: workload.pid, uid: workload.uid, layer: workload.layer, cell: cell)]
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Which explicit workload ids the broker passes on. The broker and its helpers
/// run as one identity (`--user`, or the invoker's when not started as root); a
/// workload with its uid could signal, trace or read them, and one with its gid
/// could read their group-owned files. Root is asked for only as uid 0 and gid 0
/// together (netnsd then still needs `--allow-root-workloads`); a lone 0 is a
/// mistake. Checked before anything is created; absent ids are netnsd's to allocate.
public enum WorkloadIDCheck {
    public static func check(_ spec: CellSpec, broker: PrivilegeDrop.Identity) throws(SpecError) {
        guard let uid = spec.uid, let gid = spec.gid else { return }
        if uid == broker.uid {
            throw SpecError(field: "uid", value: .integer(uid), problem: "is the broker's own user (\(broker)), which its helpers run as too; \(remedy)")
        }
        if gid == broker.gid {
            throw SpecError(field: "gid", value: .integer(gid), problem: "is the broker's own group (\(broker)), which its helpers run as too; \(remedy)")
        }
        if (uid == 0) != (gid == 0) {
            throw SpecError(
                field: uid == 0 ? "uid" : "gid", value: .integer(0),
                problem: "is root's while \(uid == 0 ? "gid" : "uid") is not: a root workload takes uid 0 and gid 0 (and netnsd's --allow-root-workloads)")
        }
    }

    /// The ids netnsd reports the workload runs as (allocated ones too) must be
    /// neither the broker's own nor root's unless the spec asked for root: a
    /// daemon whose `--workload-ids` range covers the broker would otherwise hand
    /// the workload its supervisor.
    public static func checkGranted(uid: UInt32, gid: UInt32, spec: CellSpec, broker: PrivilegeDrop.Identity) throws(SpecError) {
        let askedForRoot = spec.uid == 0 && spec.gid == 0
        if uid == broker.uid || (uid == 0 && !askedForRoot) {
            throw SpecError(field: "uid", value: .integer(uid), problem: "was granted by netnsd, but is \(uid == 0 ? "root's" : "the broker's own user (\(broker))")")
        }
        if gid == broker.gid || (gid == 0 && !askedForRoot) {
            throw SpecError(field: "gid", value: .integer(gid), problem: "was granted by netnsd, but is \(gid == 0 ? "root's" : "the broker's own group (\(broker))")")
        }
    }

    static let remedy = "omit uid and gid to let netnsd allocate the cell's own"
}

extension PrivilegeDrop.Identity {
    /// Who the broker is once `PrivilegeDrop.apply(target:)` ran: `target` when
    /// started as root, else the invoker.
    public static func afterDrop(target: PrivilegeDrop.Identity) -> PrivilegeDrop.Identity {
        geteuid() == 0 ? target : PrivilegeDrop.Identity(uid: getuid(), gid: getgid())
    }
}

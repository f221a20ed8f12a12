import IPCWire

/// The ids a workload runs as: the only place that picks them, so the
/// `--workload-ids` allocator slots in here.
struct WorkloadIdentity: Equatable {
    var uid: UInt32
    var gid: UInt32
    /// How they were chosen, for the confinement report (`explicit`, `allocated`).
    var origin: String

    /// Refusals are `invalid_request` texts (nothing has been created yet).
    static func choose(for request: SpawnWorkload, allowRootWorkloads: Bool) -> Result<WorkloadIdentity, RefusedRequest> {
        guard let uid = request.uid, let gid = request.gid else {
            return .failure(RefusedRequest("cell \(request.cellID): this daemon allocates no workload ids (send uid and gid)"))
        }
        guard allowRootWorkloads || (uid != 0 && gid != 0) else {
            return .failure(RefusedRequest(
                "cell \(request.cellID): uid/gid 0 (root) workloads are refused unless the daemon runs with --allow-root-workloads"))
        }
        return .success(WorkloadIdentity(uid: uid, gid: gid, origin: "explicit"))
    }

    var detail: String { "uid \(uid) gid \(gid) (\(origin))" }
}

/// A request refused before any action, with the text for its `invalid_request` reply.
struct RefusedRequest: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}

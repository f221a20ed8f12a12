import IPCWire

/// The ids a workload runs as: the only place that picks them. Without ids in
/// the request the cell gets its own pair from the daemon-wide
/// `WorkloadIdentities`; explicit ids are checked against the peer, the
/// allocation range and the other live cells there.
struct WorkloadIdentity: Equatable {
    var uid: UInt32
    var gid: UInt32
    /// How they were chosen, for the confinement report.
    var origin: String

    static let allocated = "allocated"
    static let explicit = "explicit"

    /// Refusals are `invalid_request` texts naming the field (`limit_exceeded`
    /// when the range is used up); nothing has been created yet. A success
    /// holds the ids in `identities` until `release`.
    static func choose(
        for request: SpawnWorkload, allowRootWorkloads: Bool, identities: WorkloadIdentities, peer: PeerCredentials
    ) -> Result<WorkloadIdentity, RefusedRequest> {
        guard let uid = request.uid, let gid = request.gid else {
            guard let id = identities.allocate() else {
                return .failure(RefusedRequest(
                    "cell \(request.cellID): every workload id of \(WorkloadIDRange.flag) \(identities.range) is in use",
                    code: NetnsdSession.ErrorCode.limitExceeded))
            }
            return .success(WorkloadIdentity(uid: id, gid: id, origin: allocated))
        }
        guard allowRootWorkloads || (uid != 0 && gid != 0) else {
            return .failure(RefusedRequest(
                "cell \(request.cellID): uid/gid 0 (root) workloads are refused unless the daemon runs with --allow-root-workloads"))
        }
        if let refusal = identities.claimExplicit(uid: uid, gid: gid, peerUID: peer.uid, peerGID: peer.gid) {
            return .failure(RefusedRequest("cell \(request.cellID): \(refusal)"))
        }
        return .success(WorkloadIdentity(uid: uid, gid: gid, origin: explicit))
    }

    /// Gives the ids back once the workload is gone. `processesMayRemain`: it was
    /// reaped, but nothing showed that all it forked ended too (then an allocated
    /// id stays out until a /proc scan finds it unused).
    func release(to identities: WorkloadIdentities, processesMayRemain: Bool = false) {
        if origin == Self.allocated {
            identities.release(uid, processesMayRemain: processesMayRemain)
        } else {
            identities.releaseExplicit(uid: uid, gid: gid)
        }
    }

    var detail: String { "uid \(uid) gid \(gid) (\(origin))" }
}

/// A request refused before any action, with the text (and code) of its reply.
struct RefusedRequest: Error, Equatable {
    var message: String
    var code: String
    init(_ message: String, code: String = NetnsdSession.ErrorCode.invalidRequest) {
        self.message = message
        self.code = code
    }
}

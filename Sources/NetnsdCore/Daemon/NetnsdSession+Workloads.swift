#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// SpawnWorkload, StartWorkload, SignalWorkload. Called by `RequestTable` rows
/// with the lock held and the cell state and workload phase already checked by
/// the gate; what is left here is each request's own validation and action.
extension NetnsdSession {
    func spawn(_ request: SpawnWorkload, stdio: [Int32]?, secrets: [Int32], _ context: RequestContext) -> Frame {
        let requestID = context.requestID
        guard let slot = context.slot, let cell = slot.cell else { return Self.gateMissed(context) }
        let identities = configuration.identities
        let identity: WorkloadIdentity
        switch WorkloadIdentity.choose(
            for: request, allowRootWorkloads: configuration.allowRootWorkloads, identities: identities, peer: peer)
        {
        case .success(let chosen): identity = chosen
        case .failure(let refusal): return Self.error(refusal, requestID)
        }
        // Until the reaper owns them, every way out gives the ids back.
        var reaperOwnsIdentity = false
        defer { if !reaperOwnsIdentity { identity.release(to: identities) } }
        var sourceIsDirectory: [Bool] = []
        if request.filesystemView {
            switch FilesystemView.checkMounts(request) {
            case .success(let kinds): sourceIsDirectory = kinds
            case .failure(let refusal): return Self.error(ErrorCode.invalidRequest, refusal.message, requestID)
            }
        }
        let spawned: SpawnedWorkload
        do {
            spawned = try cell.spawnWorkload(WorkloadPlan(
                request: request, identity: identity, sourceIsDirectory: sourceIsDirectory, stdio: stdio, secrets: secrets, client: peer,
                landlockABI: landlockABI))
        } catch {
            return Self.error(error, requestID)
        }
        let workload = spawned.workload
        for layer in ConfinementReport.optedOut(request) {
            NetnsdLog.write("cell \(request.cellID) workload \(workload.pid) opted out of its \(layer)")
        }
        for entry in spawned.enforcement where !entry.isEnforced {
            NetnsdLog.write("warning: cell \(request.cellID) workload \(workload.pid) runs without its \(entry.limit) limit: \(entry.summary)")
        }
        slot.workload = workload
        slot.transition(to: .workload(.parked))
        slot.markHandled(.spawnWorkload)
        slot.spawned = (identity.uid, identity.gid, spawned.layers)
        slot.cgroupLeaves = workload.cgroupLeaves
        startReaper(for: workload, identity: identity, cell: request.cellID)
        reaperOwnsIdentity = true
        return Self.reply(
            WorkloadSpawned(
                cellID: request.cellID, pid: workload.pid, uid: identity.uid, gid: identity.gid,
                confinement: spawned.layers, enforcement: spawned.enforcement),
            context)
    }

    func start(_ context: RequestContext) -> Frame {
        guard let slot = context.slot, let id = slot.cell?.id, let workload = slot.workload else { return Self.gateMissed(context) }
        do {
            try workload.start()
        } catch {
            return Self.error(ErrorCode.setupFailed, "starting the workload of cell \(id): \(error)", context.requestID)
        }
        slot.transition(to: .workload(.running))
        slot.markHandled(.startWorkload)
        return Self.reply(WorkloadStarted(cellID: id), context)
    }

    func signal(_ signal: Int32, _ context: RequestContext) -> Frame {
        guard let slot = context.slot, let id = slot.cell?.id, let workload = slot.workload else { return Self.gateMissed(context) }
        do {
            try workload.signal(signal)
        } catch {
            return Self.error(ErrorCode.setupFailed, "\(error)", context.requestID)
        }
        return Self.reply(WorkloadSignalled(cellID: id), context)
    }
}

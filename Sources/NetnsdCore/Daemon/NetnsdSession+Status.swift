import IPCWire

/// ReadStatus: this connection's cells, or (an admin) every connection's.
extension NetnsdSession {
    /// Called without `lock` held (`RequestRule.sessionLock`).
    func status(requestID: UInt32) -> Frame {
        let all = role.seesAllCells
        let cells = all ? (configuration.registry?.allCells() ?? cellStatuses()) : cellStatuses()
        let report = StatusReport.fitting(scope: all ? .allConnections : .ownConnection, cells: cells)
        return NetnsdFrame.make(report, requestID: requestID, flags: .response)
    }

    /// This connection's live cells as a status report lists them.
    func cellStatuses() -> [CellStatus] {
        lock.lock()
        defer { lock.unlock() }
        let now = Monotonic.milliseconds()
        var cells: [CellStatus] = []
        for (id, slot) in slots {
            guard let cell = slot.cell else { continue }
            let phase: CellStatus.Phase = switch slot.phase {
            case .none: .none
            case .parked: .parked
            case .running: .running
            case .exited: .exited
            }
            cells.append(CellStatus(
                cellID: id, ageMilliseconds: UInt64(max(0, now - slot.createdAt)), ownerPID: peer.pid, ownerUID: peer.uid, ownerGID: peer.gid,
                workloadPID: phase == .parked || phase == .running ? slot.workload?.pid ?? 0 : 0, phase: phase,
                workloadUID: slot.spawned?.uid, workloadGID: slot.spawned?.gid, confinement: slot.spawned?.confinement ?? [],
                cgroupLeaves: slot.cgroupLeaves, uplink: cell.uplinkInterface, pin: cell.pinPath))
        }
        return cells.sorted { $0.ageMilliseconds > $1.ageMilliseconds }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// One cell of a connection: its lifecycle state, the backend's cell and its
/// workload. Changed only under the owning session's lock, and its state only
/// through `transition(to:)`.
final class CellSlot {
    /// The live cell (nil once destroyed).
    var cell: (any BackendCell)?
    /// Torn down by DestroyCell, its descriptors still open until the reply is
    /// out (`NetnsdSession.closeDestroyedCells`).
    var closing: (any BackendCell)?
    private(set) var state: NetnsdSession.CellState = .ready
    private(set) var phase: NetnsdSession.WorkloadPhase = .none
    /// The workload while it is parked or running.
    var workload: (any BackendWorkload)?
    /// Once-requests already handled on this cell (`RequestRule.once`).
    private(set) var handledOnce: Set<RequestKind> = []
    /// `Monotonic.milliseconds()` at CreateCell, for the status age.
    let createdAt = Monotonic.milliseconds()
    /// What WorkloadSpawned reported (for ReadStatus): the ids and the layers.
    var spawned: (uid: UInt32, gid: UInt32, confinement: [ConfinementLayer])?
    /// The workload's cgroup leaves, listed by status from spawn on.
    var cgroupLeaves: [String] = []

    init(cell: any BackendCell) { self.cell = cell }

    /// A lifecycle step; see `isLegal` for which are.
    enum Step: Sendable, Equatable {
        case destroy
        case workload(NetnsdSession.WorkloadPhase)
    }

    /// The one place a cell's state or its workload's phase changes. An illegal
    /// step (which the request gate should have made impossible) changes nothing,
    /// is logged and returns false.
    @discardableResult
    func transition(to step: Step) -> Bool {
        guard Self.isLegal(step, state: state, phase: phase) else {
            NetnsdLog.write("cell \(cell?.id.description ?? "?"): illegal transition \(step) from \(state)/\(phase)", priority: .error)
            return false
        }
        switch step {
        case .destroy: state = .destroyed
        case .workload(let next): phase = next
        }
        return true
    }

    /// ready → destroyed; none → parked → running (both on a ready cell) → exited, and
    /// parked → exited (signalled or destroyed before it started).
    static func isLegal(_ step: Step, state: NetnsdSession.CellState, phase: NetnsdSession.WorkloadPhase) -> Bool {
        switch step {
        case .destroy: state == .ready
        case .workload(.parked): state == .ready && phase == .none
        case .workload(.running): state == .ready && phase == .parked
        case .workload(.exited): phase == .parked || phase == .running
        case .workload(.none): false
        }
    }

    /// Records a once-request as handled (after it succeeded).
    func markHandled(_ kind: RequestKind) { handledOnce.insert(kind) }

    /// Kills a live workload with everything in its cgroup; its reaper then reaps
    /// it and removes the cgroup.
    func killWorkload() {
        guard phase == .parked || phase == .running else { return }
        workload?.killAll()
        try? workload?.signal(SIGKILL)
    }
}

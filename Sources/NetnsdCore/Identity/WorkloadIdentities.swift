import Synchronization

/// The daemon-wide book of workload identities: allocates each cell's own
/// uid/gid pair (one number, used as both) from a `WorkloadIDRange`, and
/// records the explicit ids live cells asked for, so no two live cells ever
/// share a uid or gid. Shared by every connection's session; thread-safe.
///
/// Allocation is next-fit from a cursor over the range, skipping ids in use,
/// so it costs O(1) while the range is mostly free (65536 ids against at most
/// `--max-cells` live cells).
/// Ids that processes may still hold are *held back*: those the startup scan
/// found (`ProcessIdentityScan`: a crashed predecessor's workloads that somehow
/// survived), and those of a workload whose leftovers could not be shown gone
/// at reap (no cgroup leaf, no PID namespace). When the cursor meets a held-back
/// id, one scan of /proc (one `stat` per process) decides which of them are
/// free again; that happens at most once per held-back id per pass over the range.
public final class WorkloadIdentities: Sendable {
    public let range: WorkloadIDRange
    /// Ids in the range that processes hold right now (the /proc scan seam).
    public typealias Scan = @Sendable (WorkloadIDRange) -> Set<UInt32>
    private let scan: Scan
    private let state: Mutex<State>

    private struct State {
        var cursor: UInt32
        var allocated: Set<UInt32> = []
        var heldBack: Set<UInt32>
        /// Explicit ids of live cells (uids and gids apart: one cell's uid and
        /// gid may be the same number).
        var explicitUIDs: Set<UInt32> = []
        var explicitGIDs: Set<UInt32> = []
    }

    /// Scans once now: ids processes hold at startup are held back.
    public init(range: WorkloadIDRange, scan: @escaping Scan) {
        self.range = range
        self.scan = scan
        state = Mutex(State(cursor: range.first, heldBack: scan(range)))
    }

    /// A free id for both uid and gid, or nil when every id is taken or held back.
    public func allocate() -> UInt32? {
        state.withLock { state -> UInt32? in
            var rescanned = false
            var id = state.cursor
            for _ in 0..<range.count {
                defer { id = id == range.last ? range.first : id + 1 }
                guard !state.allocated.contains(id) else { continue }
                if state.heldBack.contains(id) {
                    guard !rescanned else { continue }
                    rescanned = true
                    state.heldBack.formIntersection(scan(range))
                    guard !state.heldBack.contains(id) else { continue }
                }
                state.allocated.insert(id)
                state.cursor = id == range.last ? range.first : id + 1
                return id
            }
            return nil
        }
    }

    /// Returns an allocated id. `processesMayRemain`: the workload was reaped but
    /// nothing showed that everything it forked is gone, so the id is held back
    /// until a scan finds no process with it.
    public func release(_ id: UInt32, processesMayRemain: Bool = false) {
        state.withLock { state in
            guard state.allocated.remove(id) != nil else { return }
            if processesMayRemain { state.heldBack.insert(id) }
        }
    }

    /// Why an explicit uid/gid may not be used, naming the field; nil when it
    /// may. Refused: the peer's own ids (the broker, and the helpers that run as
    /// it), ids inside the allocation range, and another live cell's explicit ids.
    /// On success the ids are recorded until `releaseExplicit`.
    public func claimExplicit(uid: UInt32, gid: UInt32, peerUID: UInt32, peerGID: UInt32) -> String? {
        if uid == peerUID { return "uid \(uid) is the requesting peer's own uid" }
        if gid == peerGID { return "gid \(gid) is the requesting peer's own gid" }
        if range.contains(uid) { return "uid \(uid) lies in the allocation range \(WorkloadIDRange.flag) \(range)" }
        if range.contains(gid) { return "gid \(gid) lies in the allocation range \(WorkloadIDRange.flag) \(range)" }
        return state.withLock { state -> String? in
            if state.explicitUIDs.contains(uid) { return "uid \(uid) is another live cell's workload uid" }
            if state.explicitGIDs.contains(gid) { return "gid \(gid) is another live cell's workload gid" }
            state.explicitUIDs.insert(uid)
            state.explicitGIDs.insert(gid)
            return nil
        }
    }

    public func releaseExplicit(uid: UInt32, gid: UInt32) {
        state.withLock { state in
            state.explicitUIDs.remove(uid)
            state.explicitGIDs.remove(gid)
        }
    }

    /// Allocated ids right now (for tests and logs).
    public var allocatedCount: Int { state.withLock { $0.allocated.count } }
    public var heldBackIDs: Set<UInt32> { state.withLock { $0.heldBack } }
}

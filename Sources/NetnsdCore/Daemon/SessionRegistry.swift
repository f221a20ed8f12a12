import IPCWire
import Synchronization

/// The daemon-wide list of live sessions, for a status request that covers all
/// connections. Sessions register when their connection is admitted and
/// unregister before it closes.
///
/// Lock order: the registry's mutex is a leaf. It is held only to copy or change
/// the list, never while a session's lock is taken, and no session calls into
/// the registry while holding its own lock. A status request therefore takes at
/// most one lock at a time (the registry's, then each session's in turn), so it
/// cannot deadlock with another connection's requests or status.
public final class SessionRegistry: Sendable {
    private let sessions = Mutex<[ObjectIdentifier: NetnsdSession]>([:])

    public init() {}

    func register(_ session: NetnsdSession) {
        sessions.withLock { $0[ObjectIdentifier(session)] = session }
    }

    func unregister(_ session: NetnsdSession) {
        _ = sessions.withLock { $0.removeValue(forKey: ObjectIdentifier(session)) }
    }

    /// The sessions now registered (a copy: their locks are taken after this returns).
    func snapshot() -> [NetnsdSession] {
        sessions.withLock { Array($0.values) }
    }

    /// Every live cell of every registered connection, oldest first.
    func allCells() -> [CellStatus] {
        snapshot().flatMap { $0.cellStatuses() }.sorted { $0.ageMilliseconds > $1.ageMilliseconds }
    }
}

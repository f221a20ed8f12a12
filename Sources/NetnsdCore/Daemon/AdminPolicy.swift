#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Peers named by `--admin-uid`/`--admin-gid`: a status request from them covers
/// every connection's cells. They are admitted even when `PeerPolicy` does not
/// list them, and then may send only `ReadStatus` (`ConnectionRole.adminOnly`).
public struct AdminPolicy: Sendable, Equatable {
    public var uids: Set<uid_t>
    public var gids: Set<gid_t>

    public init(uids: Set<uid_t> = [], gids: Set<gid_t> = []) {
        self.uids = uids
        self.gids = gids
    }

    public func admits(_ peer: PeerCredentials) -> Bool { uids.contains(peer.uid) || gids.contains(peer.gid) }

    /// What `peer` may do, or why it is refused (neither a client nor an admin).
    public func role(of peer: PeerCredentials, clients: PeerPolicy) throws(PeerRejected) -> ConnectionRole {
        let admin = admits(peer)
        do {
            try clients.authorize(peer)
            return admin ? .clientAndAdmin : .client
        } catch {
            guard admin else { throw error }
            return .adminOnly
        }
    }
}

/// How a connection was admitted.
public enum ConnectionRole: Sendable, Equatable {
    /// `--allow-uid`/`--allow-gid`: every request; status covers its own cells.
    case client
    /// Both: every request; status covers all connections.
    case clientAndAdmin
    /// Only `--admin-uid`/`--admin-gid`: `ReadStatus` only, covering all connections.
    case adminOnly

    var seesAllCells: Bool { self != .client }
}

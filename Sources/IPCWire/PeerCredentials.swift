#if canImport(Glibc)
import Glibc
#endif
import CShim

/// `SO_PEERCRED`: who connected, as the kernel recorded it at `connect`/`socketpair`.
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public let pid: pid_t
    public let uid: uid_t
    public let gid: gid_t

    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public init(of socket: borrowing OwnedFD) throws(SystemCallError) {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        try systemCall("getsockopt(SO_PEERCRED)") { cellos_peer_credentials(socket.rawValue, &pid, &uid, &gid) }
        self.init(pid: pid, uid: uid, gid: gid)
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}

/// Which peers may talk to a server: a peer is admitted when its uid or its gid is
/// listed. Nothing is admitted by default, root included: a privileged helper
/// names its clients explicitly.
public struct PeerPolicy: Sendable, Equatable {
    public var allowedUIDs: Set<uid_t>
    public var allowedGIDs: Set<gid_t>

    public init(allowedUIDs: Set<uid_t> = [], allowedGIDs: Set<gid_t> = []) {
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
    }

    /// Admits only processes running as this process's own effective uid.
    public static var sameUser: PeerPolicy { PeerPolicy(allowedUIDs: [geteuid()]) }

    public func authorize(_ peer: PeerCredentials) throws(PeerRejected) {
        guard allowedUIDs.contains(peer.uid) || allowedGIDs.contains(peer.gid) else {
            throw PeerRejected(peer: peer, policy: self)
        }
    }
}

/// A peer that `PeerPolicy` did not admit, with enough context to log why.
public struct PeerRejected: Error, Equatable, Sendable, CustomStringConvertible {
    public let peer: PeerCredentials
    public let policy: PeerPolicy

    public init(peer: PeerCredentials, policy: PeerPolicy) {
        self.peer = peer
        self.policy = policy
    }

    public var description: String {
        let uids = policy.allowedUIDs.sorted().map(String.init).joined(separator: ",")
        let gids = policy.allowedGIDs.sorted().map(String.init).joined(separator: ",")
        return "peer \(peer) is not authorized (allowed uids: [\(uids)], gids: [\(gids)])"
    }
}

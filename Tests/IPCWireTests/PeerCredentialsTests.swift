import CellosTestLab
import Foundation
import IPCWire
import Testing

/// SO_PEERCRED on socketpairs and accepted connections, and the authorization rule.
@Suite struct PeerCredentialsTests {
    func temporarySocketPath() -> String {
        "/tmp/cellos-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    @Test func socketpairReportsThisProcess() throws {
        let pair = try ConnectionPair()
        #expect(try pair.second.peerCredentials() == PeerCredentials(pid: getpid(), uid: geteuid(), gid: getegid()))
    }

    @Test func acceptedConnectionCarriesThePeer() throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        let listener = try SeqpacketListener.bind(path: path)
        let client = try SeqpacketConnection.connect(path: path)
        let accepted = try listener.accept()
        #expect(accepted.peer.pid == getpid())
        #expect(accepted.peer.uid == geteuid())
        try client.send(ErrorReply(code: "ping", message: ""), requestID: 5)
        #expect(try accepted.connection.receive(ErrorReply.self).header.requestID == 5)
    }

    @Test func listenerSocketIsCreatedWithTheRequestedMode() throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        _ = try SeqpacketListener.bind(path: path, mode: 0o600)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func staleSocketIsReplacedButALiveOneIsNot() throws {
        let path = temporarySocketPath()
        defer { unlink(path) }
        do { _ = try SeqpacketListener.bind(path: path) }  // closed: leaves a stale file
        let live = try SeqpacketListener.bind(path: path)
        #expect(throws: SystemCallError.self) { _ = try SeqpacketListener.bind(path: path) }
        _ = live
    }

    @Test func socketPathTooLongIsRefused() {
        let path = "/tmp/" + String(repeating: "x", count: 120)
        #expect(throws: SystemCallError.self) { _ = try SeqpacketListener.bind(path: path) }
    }

    @Test func policyAdmitsListedUIDsAndGIDsOnly() throws {
        let policy = PeerPolicy(allowedUIDs: [1000], allowedGIDs: [50])
        try policy.authorize(PeerCredentials(pid: 1, uid: 1000, gid: 7))
        try policy.authorize(PeerCredentials(pid: 1, uid: 7, gid: 50))
        let stranger = PeerCredentials(pid: 99, uid: 0, gid: 0)
        #expect(throws: PeerRejected(peer: stranger, policy: policy)) { try policy.authorize(stranger) }
        #expect(throws: PeerRejected.self) { try PeerPolicy().authorize(stranger) }
    }

    /// A real process under another uid connects; the kernel's record is what the
    /// policy judges, whatever the peer would claim.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func connectionFromAnotherUserIsIdentifiedAndRejected() throws {
        try PrivilegedTest.requireRoot()
        let path = temporarySocketPath()
        defer { unlink(path) }
        let listener = try SeqpacketListener.bind(path: path, mode: 0o666)
        let client = try Shell.start([
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            try BuiltProducts.path(of: "cellos-test-child"), "/dev/null", "connect=\(path)",
        ])
        defer {
            kill(client.processIdentifier, SIGKILL)
            client.waitUntilExit()
        }
        guard let accepted = try listener.accept(timeoutMilliseconds: 10_000) else {
            Issue.record("the other user's client never connected")
            return
        }
        #expect(accepted.peer.uid == 65534)
        #expect(accepted.peer.gid == 65534)
        #expect(accepted.peer.pid > 0)
        #expect(throws: PeerRejected.self) { try PeerPolicy.sameUser.authorize(accepted.peer) }
    }
}

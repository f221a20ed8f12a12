import CellosTestLab
import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// Workload identities through a real daemon (`--workload-ids`).
@Suite(.serialized) struct IdentityDaemonTests {
    /// Two ids, so exhaustion and reuse show after two cells.
    static let range = "3000000000-3000000001"

    /// uid and gid of a process (real, effective, saved and fs: all four must match).
    static func ids(of pid: pid_t) -> (uid: [String], gid: [String]) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func line(_ key: String) -> [String] {
            status.split(separator: "\n").first { $0.hasPrefix(key) }.map { $0.split(separator: "\t").dropFirst().map(String.init) } ?? []
        }
        return (line("Uid:"), line("Gid:"))
    }

    static func refusal(_ reply: borrowing NetnsdReply) -> ErrorReply? {
        if case .error(let error) = reply.message { return error }
        return nil
    }

    /// Two live cells get different allocated pairs (uid == gid, in the range,
    /// what the process really runs as, reported as the `identity` layer); the
    /// range used up is `limit_exceeded`; an id comes back only once its
    /// workload is gone (after DestroyCell), and is then handed out again.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func concurrentCellsGetTheirOwnIDsFreedOnlyAfterDestroy() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0", "--workload-ids", Self.range])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let ids = try (1...3).map { try CellID("ids-\($0)") }
        for id in ids { _ = try client.request(CreateCell(cellID: id, policy: try DaemonTests.policy())) }
        var spawned: [WorkloadSpawned] = []
        for id in ids[0...1] {
            guard case .workloadSpawned(let reply) = try client.request(try CrashTests.spawn(id, ["/bin/sleep", "45"])).message else {
                Issue.record("spawn \(id) refused")
                return
            }
            spawned.append(reply)
        }
        #expect(Set(spawned.map(\.uid)) == [3_000_000_000, 3_000_000_001])
        for reply in spawned {
            #expect(reply.uid == reply.gid)
            #expect(reply.confinement.first == ConfinementLayer(name: "identity", applied: true, detail: "uid \(reply.uid) gid \(reply.gid) (allocated)"))
            let actual = Self.ids(of: reply.pid)
            #expect(actual.uid == Array(repeating: "\(reply.uid)", count: 4) && actual.gid == Array(repeating: "\(reply.gid)", count: 4), "\(actual)")
        }
        let exhausted = try #require(Self.refusal(try client.request(try CrashTests.spawn(ids[2], ["/bin/true"]))))
        #expect(exhausted.code == NetnsdSession.ErrorCode.limitExceeded)
        #expect(exhausted.message.contains("--workload-ids \(Self.range)"), "\(exhausted.message)")

        _ = try client.request(DestroyCell(cellID: ids[0]))
        #expect(try client.nextExit().cellID == ids[0])
        guard case .workloadSpawned(let reused) = try client.request(try CrashTests.spawn(ids[2], ["/bin/sleep", "46"])).message else {
            Issue.record("no id after a destroy")
            return
        }
        #expect(reused.uid == spawned[0].uid && reused.gid == spawned[0].gid)
        #expect(daemon.terminate() == 0)
    }

    /// Explicit ids are refused naming the field: the peer's own (a ctl client
    /// running as uid/gid 4243), inside the allocation range, or another live
    /// cell's; others are used as given.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func explicitIDsThatCouldCollideAreRefusedNamingTheField() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0", "--allow-uid", "4243", "--allow-root-workloads", "--workload-ids", Self.range])
        chmod(daemon.socketPath, 0o666)
        let asPeer = try Shell.run([
            "setpriv", "--reuid", "4243", "--regid", "4243", "--clear-groups", "--", BuiltExecutable.netnsd, "ctl", "run",
            "--socket", daemon.socketPath, "--id", "peer-ids", "--uid", "4243", "--gid", "4244", "--", "/bin/true",
        ])
        #expect(asPeer.stdout.contains("invalid_request") && asPeer.stdout.contains("uid 4243 is the requesting peer's own uid"),
                "\(asPeer.stdout) \(asPeer.stderr)")

        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let ids = try (1...4).map { try CellID("explicit-\($0)") }
        for id in ids { _ = try client.request(CreateCell(cellID: id, policy: try DaemonTests.policy())) }
        func spawn(_ id: CellID, uid: UInt32, gid: UInt32) throws -> NetnsdReply {
            try client.request(try SpawnWorkload(cellID: id, path: "/bin/sleep", arguments: ["/bin/sleep", "47"], uid: uid, gid: gid))
        }
        let peerGID = try #require(Self.refusal(try spawn(ids[0], uid: 5000, gid: 0)))
        #expect(peerGID.code == "invalid_request" && peerGID.message.contains("gid 0 is the requesting peer's own gid"), "\(peerGID)")
        let inRange = try #require(Self.refusal(try spawn(ids[0], uid: 3_000_000_001, gid: 5000)))
        #expect(inRange.code == "invalid_request" && inRange.message.contains("uid 3000000001 lies in the allocation range"), "\(inRange)")
        guard case .workloadSpawned(let first) = try spawn(ids[0], uid: 5000, gid: 5001).message else {
            Issue.record("explicit ids refused")
            return
        }
        #expect(first.uid == 5000 && first.gid == 5001)
        #expect(first.confinement.first?.detail == "uid 5000 gid 5001 (explicit)")
        let sameUID = try #require(Self.refusal(try spawn(ids[1], uid: 5000, gid: 5002)))
        #expect(sameUID.message.contains("uid 5000 is another live cell's workload uid"), "\(sameUID)")
        let sameGID = try #require(Self.refusal(try spawn(ids[1], uid: 5002, gid: 5001)))
        #expect(sameGID.message.contains("gid 5001 is another live cell's workload gid"), "\(sameGID)")
        // Refusals hold nothing: the ids they named are still free for others.
        guard case .workloadSpawned = try spawn(ids[1], uid: 5002, gid: 5002).message else {
            Issue.record("a refused request kept its ids")
            return
        }
        #expect(daemon.terminate() == 0)
    }

    /// A range that holds an account of /etc/passwd, or a malformed one, stops
    /// the daemon at startup with an error naming the flag.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aRangeOverlappingAnAccountOrMalformedIsRefusedAtStartup() throws {
        try PrivilegedTest.requireRoot()
        for (range, reason) in [("1-100", "contains id 1 of 'daemon' in /etc/passwd"), ("7-5", "FIRST is above LAST")] {
            #expect {
                _ = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0", "--workload-ids", range])
            } throws: { error in
                guard case .closedBeforeReady(_, let status)? = error as? ReadinessError else { return false }
                return status?.contains("--workload-ids") == true && status?.contains(reason) == true
            }
        }
    }
}

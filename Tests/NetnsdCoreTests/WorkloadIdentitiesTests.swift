import IPCWire
@testable import NetnsdCore
import Synchronization
import Testing

/// The workload id allocator as a pure type: the /proc scan is a closure the test controls.
struct WorkloadIdentitiesTests {
    /// What the fake scan reports, changed by the test.
    final class FakeProcesses: Sendable {
        let running = Mutex(Set<UInt32>())
        let scans = Mutex(0)
        var scan: WorkloadIdentities.Scan {
            { [self] range in
                scans.withLock { $0 += 1 }
                return running.withLock { $0.filter(range.contains) }
            }
        }
    }

    static func range(_ text: String) throws -> WorkloadIDRange { try WorkloadIDRange(parsing: text) }

    @Test func allocatesDistinctPairsAndReusesOnlyAfterRelease() throws {
        let ids = WorkloadIdentities(range: try Self.range("3000000000-3000000002"), scan: FakeProcesses().scan)
        let a = try #require(ids.allocate())
        let b = try #require(ids.allocate())
        let c = try #require(ids.allocate())
        #expect(Set([a, b, c]) == [3_000_000_000, 3_000_000_001, 3_000_000_002])
        #expect(ids.allocate() == nil)
        ids.release(b)
        #expect(ids.allocate() == b)
        #expect(ids.allocate() == nil)
        // A double release (or a foreign id) changes nothing.
        ids.release(a)
        ids.release(a)
        ids.release(7)
        #expect(ids.allocate() == a)
        #expect(ids.allocatedCount == 3)
    }

    @Test func idsHeldByProcessesAtStartupStayOutUntilARescanShowsThemGone() throws {
        let processes = FakeProcesses()
        processes.running.withLock { $0 = [3_000_000_000, 12] }
        let ids = WorkloadIdentities(range: try Self.range("3000000000-3000000001"), scan: processes.scan)
        #expect(ids.heldBackIDs == [3_000_000_000])
        #expect(ids.allocate() == 3_000_000_001)
        #expect(ids.allocate() == nil)
        processes.running.withLock { $0 = [] }
        #expect(ids.allocate() == 3_000_000_000)
        #expect(ids.heldBackIDs.isEmpty)
    }

    @Test func aReleasedIDWhoseProcessesMayRemainIsHeldBack() throws {
        let processes = FakeProcesses()
        let ids = WorkloadIdentities(range: try Self.range("3000000000-3000000000"), scan: processes.scan)
        let id = try #require(ids.allocate())
        processes.running.withLock { $0 = [id] }
        ids.release(id, processesMayRemain: true)
        #expect(ids.allocate() == nil)
        processes.running.withLock { $0 = [] }
        #expect(ids.allocate() == id)
    }

    /// One scan per allocation at most, and none while no held-back id is met.
    @Test func scansOnlyWhenTheCursorMeetsAHeldBackID() throws {
        let processes = FakeProcesses()
        processes.running.withLock { $0 = [3_000_000_005] }
        let ids = WorkloadIdentities(range: try Self.range("3000000000-3000065535"), scan: processes.scan)
        for _ in 0..<5 { _ = ids.allocate() }
        #expect(processes.scans.withLock { $0 } == 1)
        #expect(ids.allocate() == 3_000_000_006)
        #expect(processes.scans.withLock { $0 } == 2)
        for _ in 0..<1000 { _ = ids.allocate() }
        #expect(processes.scans.withLock { $0 } == 2)
    }

    @Test func explicitIDsAreRefusedNamingTheField() throws {
        let ids = WorkloadIdentities(range: try Self.range("3000000000-3000000009"), scan: FakeProcesses().scan)
        #expect(ids.claimExplicit(uid: 990, gid: 5000, peerUID: 990, peerGID: 990)?.hasPrefix("uid 990 is the requesting peer's") == true)
        #expect(ids.claimExplicit(uid: 5000, gid: 990, peerUID: 990, peerGID: 990)?.hasPrefix("gid 990 is the requesting peer's") == true)
        #expect(ids.claimExplicit(uid: 3_000_000_003, gid: 5000, peerUID: 990, peerGID: 990)?.hasPrefix("uid 3000000003 lies in") == true)
        #expect(ids.claimExplicit(uid: 5000, gid: 3_000_000_009, peerUID: 990, peerGID: 990)?.hasPrefix("gid 3000000009 lies in") == true)
        #expect(ids.claimExplicit(uid: 5000, gid: 5000, peerUID: 990, peerGID: 990) == nil)
        #expect(ids.claimExplicit(uid: 5000, gid: 5001, peerUID: 990, peerGID: 990)?.hasPrefix("uid 5000 is another live cell's") == true)
        #expect(ids.claimExplicit(uid: 5001, gid: 5000, peerUID: 990, peerGID: 990)?.hasPrefix("gid 5000 is another live cell's") == true)
        ids.releaseExplicit(uid: 5000, gid: 5000)
        #expect(ids.claimExplicit(uid: 5000, gid: 5001, peerUID: 990, peerGID: 990) == nil)
    }

    @Test func rangeParsingAndAccountOverlap() throws {
        #expect(WorkloadIDRange.default.description == "2147483648-2147549183")
        #expect(WorkloadIDRange.default.count == 65_536)
        #expect(WorkloadIDRange.default.systemdOverlaps.isEmpty)
        for bad in ["", "5", "5-", "-5", "9-5", "a-b", "1-2-3", "65000-66000", "0-10", "4294967290-4294967295"] {
            #expect(throws: WorkloadIDError.self, "\(bad)") { try WorkloadIDRange(parsing: bad) }
        }
        #expect(throws: WorkloadIDError.malformed(value: "9-5", reason: "FIRST is above LAST")) { try WorkloadIDRange(parsing: "9-5") }
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# comment:x:70000:\nsvc:x:70010:70010::/:/bin/false\n"
        let group = "root:x:0:\nteam:x:70020:\n"
        #expect(throws: WorkloadIDError.overlapsAccount(range: "70000-70015", file: "/etc/passwd", name: "svc", id: 70010)) {
            try WorkloadIDRange(parsing: "70000-70015").checkUnused(passwd: passwd, group: group)
        }
        #expect(throws: WorkloadIDError.overlapsAccount(range: "70016-70030", file: "/etc/group", name: "team", id: 70020)) {
            try WorkloadIDRange(parsing: "70016-70030").checkUnused(passwd: passwd, group: group)
        }
        try WorkloadIDRange(parsing: "70031-70100").checkUnused(passwd: passwd, group: group)
        #expect(try WorkloadIDRange(parsing: "60000-62000").systemdOverlaps.count == 1)
        #expect("\(WorkloadIDError.malformed(value: "x", reason: "r"))".contains("--workload-ids"))
    }
}

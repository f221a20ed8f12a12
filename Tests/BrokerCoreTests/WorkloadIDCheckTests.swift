import BrokerCore
import Testing

/// Explicit workload ids the broker refuses before anything is created, each
/// error naming its field.
@Suite struct WorkloadIDCheckTests {
    static let broker = PrivilegeDrop.Identity(uid: 65534, gid: 65534)

    static func spec(uid: UInt32?, gid: UInt32?) -> CellSpec {
        var spec = CellSpec.defaults(id: "ids", argv: ["/bin/true"])
        spec.uid = uid
        spec.gid = gid
        return spec
    }

    @Test(arguments: [
        (65534, 70000, "uid: 65534 is the broker's own user (65534:65534), which its helpers run as too; omit uid and gid to let netnsd allocate the cell's own"),
        (70000, 65534, "gid: 65534 is the broker's own group (65534:65534), which its helpers run as too; omit uid and gid to let netnsd allocate the cell's own"),
        (0, 70000, "uid: 0 is root's while gid is not: a root workload takes uid 0 and gid 0 (and netnsd's --allow-root-workloads)"),
        (70000, 0, "gid: 0 is root's while uid is not: a root workload takes uid 0 and gid 0 (and netnsd's --allow-root-workloads)"),
    ] as [(UInt32, UInt32, String)])
    func refusedIdsNameTheirField(uid: UInt32, gid: UInt32, message: String) {
        #expect(throws: Never.self) { try WorkloadIDCheck.check(Self.spec(uid: nil, gid: nil), broker: Self.broker) }
        do {
            try WorkloadIDCheck.check(Self.spec(uid: uid, gid: gid), broker: Self.broker)
            Issue.record("accepted \(uid):\(gid)")
        } catch {
            #expect(error.description == message)
        }
    }

    /// Allocated ids, other explicit ids and root asked for as a pair pass (netnsd
    /// still decides about root); the broker's identity is its `--user` target.
    @Test func otherIdsPass() throws {
        try WorkloadIDCheck.check(Self.spec(uid: nil, gid: nil), broker: Self.broker)
        try WorkloadIDCheck.check(Self.spec(uid: 70000, gid: 70000), broker: Self.broker)
        try WorkloadIDCheck.check(Self.spec(uid: 0, gid: 0), broker: Self.broker)
        try WorkloadIDCheck.check(Self.spec(uid: 65534, gid: 65534), broker: PrivilegeDrop.Identity(uid: 4000, gid: 4000))
    }

    /// What netnsd grants is checked again: never the broker's ids, never root unasked.
    @Test func grantedIdsAreCheckedToo() throws {
        let allocated = Self.spec(uid: nil, gid: nil)
        try WorkloadIDCheck.checkGranted(uid: 2_415_919_105, gid: 2_415_919_105, spec: allocated, broker: Self.broker)
        try WorkloadIDCheck.checkGranted(uid: 0, gid: 0, spec: Self.spec(uid: 0, gid: 0), broker: Self.broker)
        let refusals: [(UInt32, UInt32, String)] = [
            (65534, 70000, "uid: 65534 was granted by netnsd, but is the broker's own user (65534:65534)"),
            (70000, 65534, "gid: 65534 was granted by netnsd, but is the broker's own group (65534:65534)"),
            (0, 70000, "uid: 0 was granted by netnsd, but is root's"),
            (70000, 0, "gid: 0 was granted by netnsd, but is root's"),
        ]
        for (uid, gid, message) in refusals {
            #expect(throws: (any Error).self) { try WorkloadIDCheck.checkGranted(uid: uid, gid: gid, spec: allocated, broker: Self.broker) }
            do { try WorkloadIDCheck.checkGranted(uid: uid, gid: gid, spec: allocated, broker: Self.broker) } catch { #expect(error.description == message) }
        }
    }
}

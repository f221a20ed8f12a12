import BrokerCore
import Testing

/// Explicit workload ids the broker refuses before anything is created, each
/// error naming its field.
@Suite struct WorkloadIdentityTests {
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
        #expect(throws: Never.self) { try WorkloadIdentity.check(Self.spec(uid: nil, gid: nil), broker: Self.broker) }
        do {
            try WorkloadIdentity.check(Self.spec(uid: uid, gid: gid), broker: Self.broker)
            Issue.record("accepted \(uid):\(gid)")
        } catch {
            #expect(error.description == message)
        }
    }

    /// Allocated ids, other explicit ids and root asked for as a pair pass (netnsd
    /// still decides about root); the broker's identity is its `--user` target.
    @Test func otherIdsPass() throws {
        try WorkloadIdentity.check(Self.spec(uid: nil, gid: nil), broker: Self.broker)
        try WorkloadIdentity.check(Self.spec(uid: 70000, gid: 70000), broker: Self.broker)
        try WorkloadIdentity.check(Self.spec(uid: 0, gid: 0), broker: Self.broker)
        try WorkloadIdentity.check(Self.spec(uid: 65534, gid: 65534), broker: PrivilegeDrop.Identity(uid: 4000, gid: 4000))
    }
}

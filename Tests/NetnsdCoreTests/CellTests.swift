import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import NetworkNamespaces
import Testing

@Suite(.serialized) struct CellTests {
    static func policy() throws -> EgressPolicy {
        try EgressPolicy(allow: [try AllowRule(id: 1, destination: "10.77.0.2", transport: "tcp", ports: "80")], nflogGroup: 5)
    }

    /// The DNS sockets belong to the cell's netns (SIOCGSKNS), not the host's, and
    /// they work from inside the cell: a UDP query and a TCP connection to the
    /// resolver address arrive on exactly these sockets, through the cell's table.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func createdCellSocketsLiveInTheCellAndReceiveItsDNSTraffic() throws {
        try PrivilegedTest.requireRoot()
        let cell = try CellFactory.create(id: CellID("sockets"), policy: try Self.policy())
        let cellIdentity = try cell.namespace.identity()
        let host = try NetworkNamespace.hostIdentity()
        #expect(cellIdentity != host)
        #expect(try SocketNamespace.identity(of: cell.dnsUDP) == cellIdentity)
        #expect(try SocketNamespace.identity(of: cell.dnsTCP) == cellIdentity)
        let hasFlowLog = cell.flowLog != nil
        #expect(!hasFlowLog)

        // A query sent from inside the cell to 127.0.0.1:53 arrives on the passed UDP socket.
        #expect(try NetworkNamespace.run(in: cell.namespace) { NetProbe.udpSend("127.0.0.1", 53, [0xCE, 0x11]) } == 0)
        var buffer = [UInt8](repeating: 0, count: 16)
        let received = buffer.withUnsafeMutableBytes { recv(cell.dnsUDP.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        #expect(Array(buffer.prefix(max(0, received))) == [0xCE, 0x11])

        // A TCP connection from inside the cell is queued on the passed listener.
        #expect(try NetworkNamespace.run(in: cell.namespace) { NetProbe.tcpConnect("127.0.0.1", 53) } == 0)
        var pending = pollfd(fd: cell.dnsTCP.rawValue, events: Int16(POLLIN), revents: 0)
        try #require(poll(&pending, 1, 2000) == 1)
        let accepted = accept(cell.dnsTCP.rawValue, nil, nil)
        #expect(accepted >= 0)
        if accepted >= 0 { close(accepted) }

        // Both went through the cell's table (lo up, policy loaded).
        let counters = try cell.readCounters()
        #expect(counters["resolver"]?.packets == 2)
        #expect(counters.labels.contains("r1"))
        try cell.destroy()
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func destroyingACellClosesEveryDescriptor() throws {
        try PrivilegedTest.requireRoot()
        let before = try OpenDescriptors.count()
        let cell = try CellFactory.create(id: CellID("fds"), policy: try Self.policy())
        // netns, dns-udp, dns-tcp and the kept libnftables socket.
        #expect(try OpenDescriptors.count() == before + 4)
        try cell.destroy()
        #expect(try OpenDescriptors.count() == before)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func twoHundredCreateDestroyCyclesLeaveNoDescriptorBehind() throws {
        try PrivilegedTest.requireRoot()
        let policy = try Self.policy()
        // One cycle first, so lazily opened library state is not counted as a leak.
        try CellFactory.create(id: CellID("warmup"), policy: policy).destroy()
        let before = try OpenDescriptors.count()
        for index in 0..<200 {
            let cell = try CellFactory.create(id: CellID("cycle-\(index)"), policy: policy)
            try cell.destroy()
        }
        #expect(try OpenDescriptors.count() == before)
    }

    /// Attach mode configures a namespace made by another tool (a lab namespace),
    /// and destroy removes the cell's table from it, since the namespace stays.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func attachConfiguresAForeignNamespaceAndDestroyRemovesTheTable() throws {
        try withLab { lab in
            let foreign = try lab.addNamespace("attach")
            let cell = try CellFactory.attach(
                id: CellID("attached"), namespace: try NetworkNamespace.open(path: foreign.path), policy: try Self.policy())
            let labIdentity = try NetworkNamespace.open(path: foreign.path).identity()
            #expect(try SocketNamespace.identity(of: cell.dnsUDP) == labIdentity)
            #expect(try SocketNamespace.identity(of: cell.dnsTCP) == labIdentity)
            let tables = try lab.run(in: foreign, ["nft", "list", "tables"]).stdout
            #expect(tables.contains("table inet cellos"))
            try cell.destroy()
            #expect(try lab.run(in: foreign, ["nft", "list", "tables"]).stdout.isEmpty)
            // Idempotent: removing an absent table again is not an error.
            try CellFirewall.remove(in: try NetworkNamespace.open(path: foreign.path))
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func attachRefusesTheHostNamespaceWithoutSideEffects() throws {
        try PrivilegedTest.requireRoot()
        let hostTablesBefore = try Shell.check(["nft", "list", "tables"]).stdout
        let host = try NetworkNamespace.open(path: "/proc/self/ns/net")
        let hostIdentity = try host.identity()
        #expect(try Self.attachError(host) == CellError.hostNamespace(hostIdentity))
        #expect(try Shell.check(["nft", "list", "tables"]).stdout == hostTablesBefore)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func attachRefusesDescriptorsThatAreNotNetworkNamespaces() throws {
        try PrivilegedTest.requireRoot()
        for path in ["/proc/self/ns/uts", "/dev/null"] {
            let fd = OwnedFD(adopting: open(path, O_RDONLY | O_CLOEXEC))
            let identity = try fd.identity()
            #expect(try Self.attachError(fd) == CellError.notANetworkNamespace(identity))
        }
    }

    /// What attach mode refuses `namespace` with (nil if it accepted it, then destroyed).
    static func attachError(_ namespace: consuming OwnedFD) throws -> CellError? {
        let policy = try Self.policy()
        let id = try CellID("attach")
        do {
            let cell = try CellFactory.attach(id: id, namespace: namespace, policy: policy)
            try cell.destroy()
            return nil
        } catch let error as CellError {
            return error
        }
    }

    @Test func cellIDsAreRestrictedToPathSafeCharacters() throws {
        #expect(try CellID("job-42_a").value == "job-42_a")
        for bad in ["", "../x", "a b", "a/b", String(repeating: "x", count: 65), "ünï"] {
            #expect(throws: PolicyError.invalidField(field: "cell_id", value: bad, reason: CellID.rule)) { try CellID(bad) }
        }
    }

    /// The NFLOG hook runs inside the cell netns with the policy's group, and its
    /// socket becomes the cell's `flowLog` descriptor.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func flowLogHookRunsInsideTheCellWithItsGroup() throws {
        try PrivilegedTest.requireRoot()
        nonisolated(unsafe) var seenGroup: UInt16?
        let cell = try CellFactory.create(id: CellID("hook"), policy: try Self.policy()) { group in
            seenGroup = group
            // A stand-in socket: any socket made here belongs to the cell netns.
            return OwnedFD(adopting: socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 12 /* NETLINK_NETFILTER */))
        }
        #expect(seenGroup == 5)
        switch cell.flowLog {
        case .some(let flowLog): #expect(try SocketNamespace.identity(of: flowLog) == cell.namespace.identity())
        case .none: Issue.record("the hook's socket did not become the cell's flowLog descriptor")
        }
        try cell.destroy()
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aFailingSetupStepIsNamedAndLeavesNoDescriptor() throws {
        try PrivilegedTest.requireRoot()
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by test" } }
        let before = try OpenDescriptors.count()
        #expect(throws: CellError.setupFailed(cell: "failing", step: "opening the NFLOG socket for group 5", reason: "refused by test")) {
            _ = try CellFactory.create(id: CellID("failing"), policy: try Self.policy()) { _ in throw Refused() }
        }
        #expect(try OpenDescriptors.count() == before)
    }
}

@Suite(.serialized) struct PinTests {
    static func policy() throws -> EgressPolicy { try EgressPolicy() }

    /// A pinned cell is visible to `ip netns` (lo up and the table inside, seen
    /// through the pin), and destroy removes the pin.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func pinnedCellIsReachableWithIpNetnsUntilDestroyed() throws {
        try PrivilegedTest.requireRoot()
        let id = try CellID("pin-\(getpid())")
        let name = CellFactory.pinName(id)
        let cell = try CellFactory.create(id: id, policy: try Self.policy(), pin: true)
        #expect(cell.pin?.path == "/run/netns/\(name)")
        #expect(try Shell.check(["ip", "netns", "list"]).stdout.contains(name))
        let pinnedIdentity = try NetworkNamespace.open(path: "/run/netns/\(name)").identity()
        #expect(try pinnedIdentity == cell.namespace.identity())
        #expect(try Shell.check(["ip", "netns", "exec", name, "nft", "list", "tables"]).stdout.contains("table inet cellos"))
        #expect(try Shell.check(["ip", "-n", name, "-o", "link", "show", "lo"]).stdout.contains("UP"))
        try cell.destroy()
        #expect(!(try Shell.check(["ip", "netns", "list"]).stdout.contains(name)))
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/\(name)"))
    }

    /// A taken pin name fails the second cell at the pinning step, leaves no
    /// descriptor behind, and does not disturb the first cell's pin.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aTakenPinNameFailsTheSecondCellWithoutSideEffects() throws {
        try PrivilegedTest.requireRoot()
        let id = try CellID("pin2-\(getpid())")
        let first = try CellFactory.create(id: id, policy: try Self.policy(), pin: true)
        let before = try OpenDescriptors.count()
        let policy = try Self.policy()
        var failure: CellError?
        do {
            _ = try CellFactory.create(id: id, policy: policy, pin: true)
        } catch {
            failure = error
        }
        guard case .setupFailed(_, let step, let reason)? = failure else {
            Issue.record("the second pin succeeded: \(String(describing: failure))")
            try first.destroy()
            return
        }
        #expect(step == "pinning at /run/netns/\(CellFactory.pinName(id))")
        #expect(reason.contains("File exists"))
        #expect(try OpenDescriptors.count() == before)
        let pinnedIdentity = try NetworkNamespace.open(path: "/run/netns/\(CellFactory.pinName(id))").identity()
        #expect(try pinnedIdentity == first.namespace.identity())
        try first.destroy()
    }
}

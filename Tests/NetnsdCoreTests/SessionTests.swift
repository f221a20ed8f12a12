import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import NetworkNamespaces
import Testing

@Suite(.serialized) struct SessionTests {
    static let peer = PeerCredentials(pid: 1, uid: 1000, gid: 1000)

    static func createFrame(_ id: String, requestID: UInt32 = 1) throws -> Frame {
        let policy = try EgressPolicy(allow: [try AllowRule(id: 3, destination: "192.0.2.0/24", transport: "udp", ports: "123")])
        return NetnsdFrame.make(CreateCell(cellID: try CellID(id), policy: policy), requestID: requestID)
    }

    static func destroyFrame(_ id: String, requestID: UInt32 = 2) throws -> Frame {
        NetnsdFrame.make(DestroyCell(cellID: try CellID(id)), requestID: requestID)
    }

    static func decode(_ reply: consuming Frame) throws -> NetnsdFrame.Message {
        #expect(reply.header.flags.contains(.response))
        return try NetnsdFrame.decode(header: reply.header, payload: reply.payload, descriptorCount: reply.descriptors.count)
    }

    static func errorCode(_ reply: consuming Frame) throws -> String? {
        if case .error(let error) = try decode(reply) { return error.code }
        return nil
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func createRepliesWithTheCellsDescriptorsInTheCellNetns() throws {
        try PrivilegedTest.requireRoot()
        let session = NetnsdSession(peer: Self.peer)
        defer { session.destroyAll() }
        var reply = session.handle(try Self.createFrame("alpha", requestID: 77))
        #expect(reply.header.requestID == 77)
        let message = try NetnsdFrame.decode(header: reply.header, payload: reply.payload, descriptorCount: reply.descriptors.count)
        #expect(message == .cellCreated(CellCreated(cellID: try CellID("alpha"), names: ["netns", "dns-udp", "dns-tcp"])))
        let namespace = reply.descriptors.take(0)
        let udp = reply.descriptors.take(1)
        let tcp = reply.descriptors.take(2)
        let isNetworkNamespace = NetworkNamespace.isNetworkNamespace(namespace)
        let cellIdentity = try namespace.identity()
        let udpIdentity = try SocketNamespace.identity(of: udp)
        let tcpIdentity = try SocketNamespace.identity(of: tcp)
        #expect(isNetworkNamespace)
        #expect(try cellIdentity != NetworkNamespace.hostIdentity())
        #expect(udpIdentity == cellIdentity)
        #expect(tcpIdentity == cellIdentity)
        #expect(session.state(of: try CellID("alpha")) == .ready)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func outOfStateRequestsAreRefusedWithoutSideEffects() throws {
        try PrivilegedTest.requireRoot()
        let session = NetnsdSession(peer: Self.peer)
        defer { session.destroyAll() }
        let id = try CellID("beta")
        #expect(try Self.errorCode(session.handle(try Self.destroyFrame("beta"))) == NetnsdSession.ErrorCode.unknownCell)
        _ = session.handle(try Self.createFrame("beta"))
        let descriptors = try OpenDescriptors.count()
        #expect(try Self.errorCode(session.handle(try Self.createFrame("beta"))) == NetnsdSession.ErrorCode.invalidState)
        #expect(try OpenDescriptors.count() == descriptors)
        #expect(session.state(of: id) == .ready)

        #expect(try Self.decode(session.handle(try Self.destroyFrame("beta"))) == .cellDestroyed(CellDestroyed(cellID: id)))
        #expect(session.state(of: id) == .destroyed)
        // Idempotent destroy; no re-creation under a destroyed id.
        #expect(try Self.decode(session.handle(try Self.destroyFrame("beta"))) == .cellDestroyed(CellDestroyed(cellID: id)))
        #expect(try Self.errorCode(session.handle(try Self.createFrame("beta"))) == NetnsdSession.ErrorCode.invalidState)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aConnectionCannotHoldMoreThanItsCellLimit() throws {
        try PrivilegedTest.requireRoot()
        let session = NetnsdSession(peer: Self.peer, maxCells: 2)
        defer { session.destroyAll() }
        _ = session.handle(try Self.createFrame("l1"))
        _ = session.handle(try Self.createFrame("l2"))
        #expect(try Self.errorCode(session.handle(try Self.createFrame("l3"))) == NetnsdSession.ErrorCode.limitExceeded)
        #expect(session.state(of: try CellID("l3")) == nil)
        // A destroyed cell frees its place.
        _ = session.handle(try Self.destroyFrame("l1"))
        guard case .cellCreated = try Self.decode(session.handle(try Self.createFrame("l3"))) else {
            Issue.record("no room after a destroy")
            return
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func anotherConnectionCannotSeeOrDestroyACell() throws {
        try PrivilegedTest.requireRoot()
        let owner = NetnsdSession(peer: Self.peer)
        let other = NetnsdSession(peer: PeerCredentials(pid: 2, uid: 1001, gid: 1001))
        defer { owner.destroyAll() }
        _ = owner.handle(try Self.createFrame("gamma"))
        #expect(try Self.errorCode(other.handle(try Self.destroyFrame("gamma"))) == NetnsdSession.ErrorCode.unknownCell)
        #expect(owner.state(of: try CellID("gamma")) == .ready)
    }

    /// ReadCounters reports what the cell's table counted, only while the cell is ready.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func readCountersReportsTheCellsRuleCounters() throws {
        try PrivilegedTest.requireRoot()
        let session = NetnsdSession(peer: Self.peer)
        defer { session.destroyAll() }
        let id = try CellID("counted")
        let read = NetnsdFrame.make(ReadCounters(cellID: id), requestID: 11)
        #expect(try Self.errorCode(session.handle(read)) == NetnsdSession.ErrorCode.unknownCell)

        var created = session.handle(try Self.createFrame("counted"))
        let namespace = created.descriptors.take(0)
        // Two datagrams to the resolver and one to another loopback address (a DNS server that
        // is not the resolver; the cell has no route anywhere else), from inside the cell.
        let results = try NetworkNamespace.run(in: namespace) {
            [NetProbe.udpSend("127.0.0.1", 53), NetProbe.udpSend("127.0.0.1", 53), NetProbe.udpSend("127.0.0.2", 53)]
        }
        #expect(results == [0, 0, EPERM])

        guard case .countersReport(let report) = try Self.decode(session.handle(NetnsdFrame.make(ReadCounters(cellID: id), requestID: 12))) else {
            Issue.record("no counters report")
            return
        }
        #expect(report.cellID == id)
        #expect(report.entries.map(\.label) == ["established", "resolver", "ndp", "dns", "r3", "default"])
        #expect(report.entries.first { $0.label == "resolver" }?.packets == 2)
        #expect(report.entries.first { $0.label == "dns" }?.packets == 1)
        #expect(report.entries.first { $0.label == "r3" }?.packets == 0)

        _ = session.handle(try Self.destroyFrame("counted"))
        #expect(try Self.errorCode(session.handle(NetnsdFrame.make(ReadCounters(cellID: id), requestID: 13))) == NetnsdSession.ErrorCode.invalidState)
    }

    @Test func malformedAndMisdirectedFramesAreRefusedAndTheSessionGoesOn() throws {
        let session = NetnsdSession(peer: Self.peer)
        // Trailing byte after a valid DestroyCell payload.
        let good = try Self.destroyFrame("delta")
        let header = FrameHeader(messageType: good.header.messageType, descriptorCount: 0, requestID: 9, payloadLength: good.payload.count + 1)
        let trailing = session.handle(Frame(header: header, payload: good.payload + [0], descriptors: DescriptorSet()))
        #expect(trailing.header.requestID == 9)
        #expect(try Self.errorCode(trailing) == NetnsdSession.ErrorCode.invalidRequest)
        // A reply type is not a request; an unknown type in netnsd's range is refused.
        let reply = NetnsdFrame.make(CellDestroyed(cellID: try CellID("delta")), requestID: 3)
        #expect(try Self.errorCode(session.handle(reply)) == NetnsdSession.ErrorCode.invalidRequest)
        let unknown = Frame(header: FrameHeader(messageType: 300, descriptorCount: 0, requestID: 4, payloadLength: 0), payload: [], descriptors: DescriptorSet())
        #expect(try Self.errorCode(session.handle(unknown)) == NetnsdSession.ErrorCode.invalidRequest)
        // An invalid policy names the field.
        var writer = WireWriter()
        writer.write("epsilon")
        writer.write(false)
        writer.write("127.0.0.1:53")
        writer.write(UInt16(1))
        writer.write(UInt32(10))
        writer.write(UInt32(10))
        writer.write(UInt32(1))
        writer.write(UInt16(1))
        writer.write("10.0.0.0/33")
        writer.write("tcp")
        writer.write(optional: "80")
        let badPolicy = Frame(
            header: FrameHeader(messageType: MessageType.createCell.rawValue, descriptorCount: 0, requestID: 5, payloadLength: writer.bytes.count),
            payload: writer.bytes, descriptors: DescriptorSet())
        guard case .error(let error) = try Self.decode(session.handle(badPolicy)) else {
            Issue.record("a bad policy was accepted")
            return
        }
        #expect(error.message.contains("policy.allow[0].destination"))
        #expect(error.message.contains("10.0.0.0/33"))
        // Still serving: an ordinary refusal comes back for the next request.
        #expect(try Self.errorCode(session.handle(try Self.destroyFrame("delta"))) == NetnsdSession.ErrorCode.unknownCell)
    }

    /// A request carrying a descriptor it should not have is refused, and the
    /// descriptor is closed with the frame: nothing is kept.
    @Test func unexpectedDescriptorsAreRefusedAndClosed() throws {
        let session = NetnsdSession(peer: Self.peer)
        let before = try OpenDescriptors.count()
        do {
            var descriptors = DescriptorSet()
            descriptors.append(OwnedFD(adopting: open("/dev/null", O_RDONLY | O_CLOEXEC)))
            let request = try Self.destroyFrame("fd")
            let header = FrameHeader(
                messageType: request.header.messageType, descriptorCount: 1, requestID: 21, payloadLength: request.payload.count)
            let reply = session.handle(Frame(header: header, payload: request.payload, descriptors: descriptors))
            guard case .error(let error) = try Self.decode(reply) else {
                Issue.record("a DestroyCell with a descriptor was accepted")
                return
            }
            #expect(error.code == NetnsdSession.ErrorCode.invalidRequest)
            #expect(error.message.contains("descriptors"))
        }
        #expect(try OpenDescriptors.count() == before)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func attachWithTheHostNamespaceIsRefused() throws {
        try PrivilegedTest.requireRoot()
        let session = NetnsdSession(peer: Self.peer)
        var descriptors = DescriptorSet()
        descriptors.append(try NetworkNamespace.open(path: "/proc/self/ns/net"))
        let request = CreateCell(cellID: try CellID("host"), policy: try EgressPolicy(), attach: true)
        guard case .error(let error) = try Self.decode(session.handle(NetnsdFrame.make(request, requestID: 6, descriptors: descriptors))) else {
            Issue.record("the host namespace was accepted")
            return
        }
        #expect(error.code == NetnsdSession.ErrorCode.invalidRequest)
        #expect(error.message.contains("host's own network namespace"))
        #expect(session.state(of: try CellID("host")) == nil)
    }

    /// DestroyCell tears the cell down at once but closes its descriptors only when
    /// the server says the reply is out (closing the libnftables socket right after
    /// a commit waits for an RCU grace period; the client should not).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func destroyedCellsCloseAfterTheReply() throws {
        try PrivilegedTest.requireRoot()
        let before = try OpenDescriptors.count()
        let session = NetnsdSession(peer: Self.peer)
        _ = session.handle(try Self.createFrame("late"))
        let reply = session.handle(try Self.destroyFrame("late"))
        #expect(try NetnsdFrame.decode(header: reply.header, payload: reply.payload, descriptorCount: 0) == .cellDestroyed(CellDestroyed(cellID: try CellID("late"))))
        #expect(try OpenDescriptors.count() == before + 4)
        session.closeDestroyedCells()
        #expect(try OpenDescriptors.count() == before)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func destroyAllClosesEveryCellsDescriptors() throws {
        try PrivilegedTest.requireRoot()
        let before = try OpenDescriptors.count()
        let session = NetnsdSession(peer: Self.peer)
        for name in ["c1", "c2", "c3"] { _ = session.handle(try Self.createFrame(name)) }
        // Per cell: netns, dns-udp, dns-tcp, the libnftables socket.
        #expect(try OpenDescriptors.count() == before + 12)
        #expect(session.destroyAll() == 3)
        #expect(try OpenDescriptors.count() == before)
    }
}

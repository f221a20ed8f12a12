import Foundation
import IPCWire
import Testing

/// Frames with descriptors across a real SOCK_SEQPACKET socketpair.
@Suite struct DescriptorPassingTests {
    @Test(arguments: [0, 1, 2, 3, 4, 8, FrameHeader.maxDescriptors])
    func roundTripPreservesIdentity(count: Int) throws {
        let pair = try ConnectionPair()
        let sent = try Descriptors.mixed(count)
        let expected = try Descriptors.identities(sent)
        let names = (0..<count).map { "fd\($0)" }
        try pair.first.send(DescriptorBundle(names: names), requestID: 1, descriptors: sent)

        let received = try pair.second.receive(DescriptorBundle.self)
        #expect(received.message.names == names)
        #expect(received.descriptors.count == count)
        #expect(try Descriptors.identities(received.descriptors) == expected)
        for index in 0..<count {
            // MSG_CMSG_CLOEXEC: nothing received leaks into a process we exec.
            let flags = fcntl(received.descriptors.raw(index), F_GETFD)
            #expect(flags & FD_CLOEXEC != 0)
        }
    }

    @Test func moreDescriptorsThanDeclaredAreRefusedAndClosed() throws {
        let pair = try ConnectionPair()
        let before = try Descriptors.openCount()
        try pair.first.send(rawFrame(fdCount: 1, payload: bundlePayload(["one"]), descriptors: try Descriptors.mixed(3)))
        #expect(throws: WireError.descriptorCountMismatch(declared: 1, received: 3)) { _ = try pair.second.receive() }
        #expect(try Descriptors.openCount() == before)
    }

    @Test func fewerDescriptorsThanDeclaredAreRefusedAndClosed() throws {
        let pair = try ConnectionPair()
        let before = try Descriptors.openCount()
        try pair.first.send(rawFrame(fdCount: 3, payload: bundlePayload(["a", "b", "c"]), descriptors: try Descriptors.mixed(2)))
        #expect(throws: WireError.descriptorCountMismatch(declared: 3, received: 2)) { _ = try pair.second.receive() }
        #expect(try Descriptors.openCount() == before)
    }

    @Test func descriptorsBeyondTheFrameLimitAreRefusedAndClosed() throws {
        let pair = try ConnectionPair()
        let before = try Descriptors.openCount()
        let count = FrameHeader.maxDescriptors + 4
        try pair.first.send(rawFrame(fdCount: count, payload: [], descriptors: try Descriptors.mixed(count)))
        #expect(throws: WireError.tooManyDescriptors(declared: count, limit: FrameHeader.maxDescriptors)) { _ = try pair.second.receive() }
        #expect(try Descriptors.openCount() == before)
    }

    @Test func descriptorsOnAFrameWhosePayloadDoesNotDecodeAreClosed() throws {
        let pair = try ConnectionPair()
        let before = try Descriptors.openCount()
        // The header is consistent (3-byte payload, 2 fds) but the payload is no bundle.
        try pair.first.send(rawFrame(fdCount: 2, payload: [1, 2, 3], descriptors: try Descriptors.mixed(2)))
        #expect(throws: WireError.truncatedPayload(field: "names")) { _ = try pair.second.receive().decodeAny() }
        #expect(try Descriptors.openCount() == before)
    }

    @Test func truncatedFrameIsRefused() throws {
        let pair = try ConnectionPair()
        try sendRaw(pair.first, Array(Frame(ErrorReply(code: "x", message: "y"), requestID: 1).bytes.prefix(12)))
        #expect(throws: WireError.frameTooShort(length: 12)) { _ = try pair.second.receive() }
    }

    @Test func oversizeDatagramIsRefusedAndTheNextFrameStillArrives() throws {
        let pair = try ConnectionPair()
        try sendRaw(pair.first, [UInt8](repeating: 0x41, count: FrameHeader.maxFrameSize + 100))
        try pair.first.send(ErrorReply(code: "after", message: "oversize"), requestID: 2)
        #expect(throws: WireError.frameTooLarge(limit: FrameHeader.maxFrameSize)) { _ = try pair.second.receive() }
        #expect(try pair.second.receive(ErrorReply.self).message.code == "after")
    }

    @Test func wrongMagicAndVersionAreRefused() throws {
        let pair = try ConnectionPair()
        var bytes = Frame(ErrorReply(code: "x", message: "y"), requestID: 1).bytes
        bytes[3] = 0
        try sendRaw(pair.first, bytes)
        #expect(throws: WireError.badMagic(0x004C_5731)) { _ = try pair.second.receive() }
        bytes[3] = 0x43
        bytes[4] = 9
        try sendRaw(pair.first, bytes)
        #expect(throws: WireError.unsupportedVersion(9)) { _ = try pair.second.receive() }
    }

    @Test func closedPeerIsReported() throws {
        let pair = try ConnectionPair()
        pair.first.shutdownWrite()
        #expect(throws: WireError.peerClosed) { _ = try pair.second.receive() }
    }

    @Test func senderKeepsItsDescriptorsUntilTheFrameDies() throws {
        let pair = try ConnectionPair()
        let frame = Frame(DescriptorBundle(names: ["udp"]), requestID: 3, descriptors: try Descriptors.mixed(1))
        let raw = frame.descriptors.raw(0)
        try pair.first.send(frame)
        #expect(fcntl(raw, F_GETFD) >= 0)
        _ = consume frame
        #expect(fcntl(raw, F_GETFD) == -1)
        _ = try pair.second.receive()
    }
}

import Testing
@testable import FlowlogCore

@Suite struct NetlinkDecodingTests {
    @Test func walkerYieldsEveryMessageOfADatagram() {
        let datagram = Netlink.message(type: 0x400, sequence: 1, payload: [1, 2, 3]) + Netlink.message(type: NetlinkMessageType.done, sequence: 2, payload: [])
        let messages = withBytes(datagram) { raw in
            var walker = NetlinkMessageWalker(raw)
            var out: [(UInt16, UInt32, Int)] = []
            while let next = walker.next() { if case .success(let m) = next { out.append((m.type, m.sequence, m.payload.count)) } }
            return out
        }
        #expect(messages.map(\.0) == [0x400, NetlinkMessageType.done])
        #expect(messages.map(\.1) == [1, 2])
        #expect(messages.map(\.2) == [3, 0])
    }

    @Test func walkerStopsAtABadLengthAfterTheGoodMessages() {
        var bad = Netlink.message(type: 0x400, payload: [0, 0, 0, 0])
        bad[0] = 200  // nlmsg_len larger than what is left
        let datagram = Netlink.message(type: 0x400, payload: [9]) + bad + Netlink.message(type: 0x400, payload: [])
        let results = withBytes(datagram) { raw in
            var walker = NetlinkMessageWalker(raw)
            var out: [Result<UInt16, NetlinkFramingError>] = []
            while let next = walker.next() { out.append(next.map(\.type)) }
            return out
        }
        #expect(results.count == 2)
        #expect(results.first == .success(0x400))
        #expect(results.last == .failure(.badLength(offset: 20, length: 200, remaining: 36)))
    }

    @Test func walkerRejectsATruncatedHeaderAndAShortLength() {
        let truncated = withBytes([1, 2, 3, 4, 5]) { raw in
            var walker = NetlinkMessageWalker(raw)
            return walker.next()
        }
        #expect(truncated.map { (try? $0.get()) == nil } == true)
        var short = Netlink.message(type: 0x400, payload: [])
        short[0] = 8  // below the 16-byte header
        let failure = withBytes(short) { raw in
            var walker = NetlinkMessageWalker(raw)
            return walker.next().flatMap { if case .failure(let e) = $0 { e } else { nil } }
        }
        #expect(failure == .badLength(offset: 0, length: 8, remaining: 16))
    }

    @Test func errorMessageCarriesItsCode() {
        let code = withBytes(Netlink.error(-1)) { raw in
            var walker = NetlinkMessageWalker(raw)
            return try? walker.next()?.get().errorCode
        }
        #expect(code == -1)
    }

    @Test func packetAttributesDecode() throws {
        let payload = IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 17, transport: IPPacket.udp(source: 1234, destination: 53))
        typealias A = NflogProtocol.Attribute
        let message = Netlink.nflog(family: 2, group: 0x1234, attributes: [
            Netlink.attribute(A.packetHeader, Bytes.be16(0x0800) + [1, 0]),
            Netlink.attribute(A.timestamp, Bytes.be64(1_700_000_000) + Bytes.be64(123_456)),
            Netlink.attribute(A.inputInterface, Bytes.be32(3)),
            Netlink.attribute(A.prefix, Array("cellos-flow accept r1".utf8) + [0]),
            Netlink.attribute(A.uid, Bytes.be32(1000)),
            Netlink.attribute(A.gid, Bytes.be32(100)),
            Netlink.attribute(A.sequence, Bytes.be32(5)),
            Netlink.attribute(A.globalSequence, Bytes.be32(6)),
            Netlink.attribute(A.payload, payload),
        ])
        try withBytes(message) { raw in
            let nl = try firstMessage(raw)
            let packet = try NflogPacket.decode(nl.payload)
            #expect(packet.family == 2)
            #expect(packet.group == 0x1234)
            #expect(packet.hardwareProtocol == 0x0800)
            #expect(packet.hook == 1)
            #expect(packet.timestamp == WallTime(seconds: 1_700_000_000, microseconds: 123_456))
            #expect(packet.inputInterface == 3)
            #expect(packet.outputInterface == nil)
            #expect(packet.uid == 1000)
            #expect(packet.gid == 100)
            #expect(packet.sequence == 5)
            #expect(packet.globalSequence == 6)
            #expect(packet.prefix.map { String(decoding: $0, as: UTF8.self) } == "cellos-flow accept r1")
            #expect(packet.payload.map(Array.init) == payload)
        }
    }

    @Test func unknownAttributesAreSkippedAndFlagBitsMasked() throws {
        typealias A = NflogProtocol.Attribute
        let message = Netlink.nflog(attributes: [
            Netlink.attribute(200, [1, 2, 3]),                       // unknown type
            Netlink.attribute(A.uid | 0x4000, Bytes.be32(77)),      // NLA_F_NET_BYTEORDER set
            Netlink.attribute(A.hardwareAddressForTest | 0x8000, [0, 6, 0, 0] + Array(repeating: 1, count: 8)),  // nested bit, unused type
        ])
        let packet = try withBytes(message) { raw in
            try NflogPacket.decode(try firstMessage(raw).payload)
        }
        #expect(packet.uid == 77)
        #expect(packet.payload == nil)
    }

    @Test(arguments: [
        // attribute header cut after 2 bytes
        ([UInt8](Bytes.host16(8)), NflogDecodeError.attribute(.truncatedHeader(offset: 0, remaining: 2))),
        // nla_len beyond the message
        (Bytes.host16(40) + Bytes.host16(11) + Bytes.be32(1), .attribute(.badLength(offset: 0, length: 40, remaining: 8))),
        // nla_len below the header size
        (Bytes.host16(2) + Bytes.host16(11), .attribute(.badLength(offset: 0, length: 2, remaining: 4))),
        // a u32 attribute with 2 bytes
        (Netlink.attribute(11, [0, 1]), .badAttributeSize(type: 11, size: 2)),
        // a short timestamp
        (Netlink.attribute(3, Bytes.be64(1)), .badAttributeSize(type: 3, size: 8)),
        // the same attribute twice
        (Netlink.attribute(11, Bytes.be32(1)) + Netlink.attribute(11, Bytes.be32(2)), .duplicateAttribute(type: 11)),
        // a prefix without NUL
        (Netlink.attribute(10, Array("cellos".utf8)), .unterminatedPrefix),
    ])
    func malformedAttributesAreRejected(attributes: [UInt8], expected: NflogDecodeError) {
        let payload = [2, 0, 0, 7] + attributes
        #expect(throws: expected) {
            try withBytes(payload) { try NflogPacket.decode($0) }
        }
    }

    @Test func shortNfgenmsgIsRejected() {
        #expect(throws: NflogDecodeError.truncatedNfgenmsg(length: 3)) {
            try withBytes([2, 0, 0]) { try NflogPacket.decode($0) }
        }
    }
}

extension NflogProtocol.Attribute {
    /// NFULA_HWADDR, which the decoder does not use.
    static let hardwareAddressForTest: UInt16 = 8
}

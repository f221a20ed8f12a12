import Testing
import IPCWire
import Glibc
@testable import FlowlogCore

@Suite struct FlowPrefixTests {
    @Test(arguments: [
        ("cellos-flow accept r3", FlowVerdict(verdict: "accept", rule: "r3")),
        ("cellos-flow drop default", FlowVerdict(verdict: "drop", rule: "default")),
        ("cellos-flow reject allow-dns.v6_1", FlowVerdict(verdict: "reject", rule: "allow-dns.v6_1")),
    ])
    func wellFormedPrefixesParse(text: String, expected: FlowVerdict) {
        #expect(FlowPrefixParser().parse(text) == expected)
    }

    @Test(arguments: [
        "cellos-flow", "cellos-flow ", "cellos-flowx accept r1", "other accept r1", "cellos-flow allow r1",
        "cellos-flow accept", "cellos-flow accept r1 extra", "cellos-flow accept  r1", "cellos-flow accept r\"1",
        "cellos-flow drop " + String(repeating: "r", count: 65),
    ])
    func otherPrefixesDoNotParse(text: String) {
        #expect(FlowPrefixParser().parse(text) == nil)
    }

    @Test func aConfiguredPrefixReplacesTheDefault() {
        let parser = FlowPrefixParser(prefix: "cell-7")
        #expect(parser.parse("cell-7 drop r9") == FlowVerdict(verdict: "drop", rule: "r9"))
        #expect(parser.parse("cellos-flow drop r9") == nil)
    }
}

@Suite struct FlowDecoderTests {
    static let udpPayload = IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 17, transport: IPPacket.udp(source: 40000, destination: 9999))
    static let receivedAt = WallTime(seconds: 1_764_086_645, microseconds: 7)

    func run(_ datagram: [UInt8], decoder: inout FlowDecoder) -> [FlowEvent] {
        var events: [FlowEvent] = []
        withBytes(datagram) { decoder.process(datagram: $0, receivedAt: Self.receivedAt) { events.append($0) } }
        return events
    }

    @Test func severalMessagesInOneDatagramEachBecomeAnEvent() {
        let tcp = IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 6, transport: IPPacket.tcp(source: 1, destination: 80, flags: 2))
        let datagram = Netlink.loggedPacket(prefix: "cellos-flow drop r1", payload: Self.udpPayload)
            + Netlink.loggedPacket(prefix: "cellos-flow accept r2", payload: tcp)
            + Netlink.message(type: NetlinkMessageType.done, payload: [])
        var decoder = FlowDecoder()
        let events = run(datagram, decoder: &decoder)
        #expect(events.map(\.verdict) == [FlowVerdict(verdict: "drop", rule: "r1"), FlowVerdict(verdict: "accept", rule: "r2")])
        #expect(events.map { $0.packet?.destinationPort } == [9999, 80])
        #expect(events.allSatisfy { $0.direction == "out" && $0.uid == 1000 && $0.time == Self.receivedAt })
        #expect(decoder.stats.messages == 3)
        #expect(decoder.stats.matched == 2)
        #expect(decoder.stats.decodeFailures == 0)
        #expect(decoder.table.flows.count == 2)
    }

    /// Only an ack (error 0) with the end-of-log sequence ends the log: an ack of
    /// another request, or an error with that sequence, does not.
    @Test func theEndOfLogAckEndsTheLog() {
        var decoder = FlowDecoder()
        _ = run(Netlink.error(0, sequence: 7) + Netlink.error(-1, sequence: NflogProtocol.endOfLogSequence), decoder: &decoder)
        #expect(!decoder.logEnded)
        #expect(decoder.stats.netlinkErrors == 1)
        let events = run(Netlink.loggedPacket(prefix: "cellos-flow drop r1", payload: Self.udpPayload) + Netlink.error(0, sequence: NflogProtocol.endOfLogSequence), decoder: &decoder)
        #expect(events.count == 1)
        #expect(decoder.logEnded)
        #expect(decoder.stats.netlinkErrors == 1)
    }

    @Test func foreignPrefixesAreCountedNotEmitted() {
        let datagram = Netlink.loggedPacket(prefix: "somebody-else ", payload: Self.udpPayload)
            + Netlink.loggedPacket(prefix: nil, payload: Self.udpPayload)
        var decoder = FlowDecoder()
        #expect(run(datagram, decoder: &decoder).isEmpty)
        #expect(decoder.stats.packets == 2)
        #expect(decoder.stats.unmatched == 2)
        #expect(decoder.stats.matched == 0)
    }

    @Test func aMalformedMessageIsCountedAndTheNextStillDecodes() {
        let broken = Netlink.nflog(attributes: [Netlink.attribute(11, [0, 1])])  // u32 with 2 bytes
        let badPayload = Netlink.loggedPacket(prefix: "cellos-flow drop r1", payload: [0x45, 0, 0])
        let datagram = broken + badPayload + Netlink.loggedPacket(prefix: "cellos-flow drop r1", payload: Self.udpPayload)
        var decoder = FlowDecoder()
        let events = run(datagram, decoder: &decoder)
        #expect(events.count == 1)
        #expect(decoder.stats.decodeFailures == 2)
        #expect(decoder.stats.matched == 1)
    }

    @Test func aZeroLengthPayloadStillYieldsAnEvent() {
        var decoder = FlowDecoder()
        let events = run(Netlink.loggedPacket(prefix: "cellos-flow drop default", payload: []), decoder: &decoder)
        #expect(events.count == 1)
        #expect(events.first?.packet == nil)
        #expect(events.first.map { $0.jsonLine(cellID: "c").contains("\"protocol\":\"unknown\"") } == true)
        #expect(decoder.table.flows.isEmpty)
    }

    @Test func netlinkErrorsAndAcksAreTold() {
        var decoder = FlowDecoder()
        _ = run(Netlink.error(0) + Netlink.error(-105) + Netlink.message(type: 0x999, payload: []), decoder: &decoder)
        #expect(decoder.stats.netlinkErrors == 2)
        #expect(decoder.stats.messages == 3)
    }

    @Test func aTruncatedDatagramCountsAFailureAfterTheGoodMessages() {
        let whole = Netlink.loggedPacket(prefix: "cellos-flow drop r1", payload: Self.udpPayload)
        let datagram = whole + Array(whole[..<30])
        var decoder = FlowDecoder()
        #expect(run(datagram, decoder: &decoder).count == 1)
        #expect(decoder.stats.decodeFailures == 1)
    }

    @Test func theEventLineHasEveryField() throws {
        var decoder = FlowDecoder()
        let event = try #require(run(Netlink.loggedPacket(prefix: "cellos-flow drop r1", payload: Self.udpPayload), decoder: &decoder).first)
        #expect(event.jsonLine(cellID: "cell-\"a\"") == """
            {"type":"flow_event","time":"2025-11-25T16:04:05.000007Z","cell_id":"cell-\\"a\\"","verdict":"drop","rule":"r1",\
            "direction":"out","protocol":"udp","src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":9999,"length":32,\
            "uid":1000,"gid":1000,"outdev":2,"seq":41,"group":7}
            """)
    }

    @Test func icmpAndTCPEventsNameTypeCodeAndFlags() throws {
        let icmp = IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 1, transport: IPPacket.icmp(type: 8, code: 0))
        let tcp = IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 6, transport: IPPacket.tcp(source: 1, destination: 443, flags: 0x02))
        var decoder = FlowDecoder()
        let lines = run(Netlink.loggedPacket(prefix: "cellos-flow accept r2", payload: icmp) + Netlink.loggedPacket(prefix: "cellos-flow accept r3", payload: tcp), decoder: &decoder)
            .map { $0.jsonLine(cellID: "c") }
        #expect(lines.count == 2)
        #expect(lines.first?.contains("\"protocol\":\"icmp\",\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"icmp_type\":8,\"icmp_code\":0") == true)
        #expect(lines.last?.contains("\"protocol\":\"tcp\",\"src\":\"2001:db8::1\",\"dst\":\"2001:db8::2\",\"sport\":1,\"dport\":443,\"tcp_flags\":\"S\"") == true)
    }
}

@Suite struct FlowTableTests {
    func event(_ verdict: String, port: UInt16, second: Int64) -> FlowEvent {
        let packet = PacketSummary(source: .v4(0x0A00_0001), destination: .v4(0x0A00_0002), ipProtocol: 17, sourcePort: 5000, destinationPort: port, length: 100)
        return FlowEvent(time: WallTime(seconds: second, microseconds: 0), verdict: FlowVerdict(verdict: verdict, rule: "r1"), direction: "out", packet: packet, group: 1)
    }

    @Test func packetsOfOneFlowAggregateAndVerdictsSeparate() {
        var table = FlowTable()
        table.record(event("drop", port: 53, second: 10))
        table.record(event("drop", port: 53, second: 12))
        table.record(event("accept", port: 53, second: 11))
        #expect(table.flows.count == 2)
        let lines = table.summaryLines(cellID: "c")
        #expect(lines.count == 2)
        #expect(lines.first == """
            {"type":"flow_summary","time":"1970-01-01T00:00:12.000000Z","cell_id":"c","verdict":"drop","rule":"r1","direction":"out","protocol":"udp","src":"10.0.0.1",\
            "dst":"10.0.0.2","sport":5000,"dport":53,"first_seen":"1970-01-01T00:00:10.000000Z","last_seen":"1970-01-01T00:00:12.000000Z",\
            "packets":2,"bytes":200}
            """)
    }

    @Test func aFullTableCountsOverflowInsteadOfGrowing() {
        var table = FlowTable(capacity: 2)
        for port in UInt16(1)...4 { table.record(event("drop", port: port, second: 1)) }
        table.record(event("drop", port: 1, second: 2))
        #expect(table.flows.count == 2)
        #expect(table.overflowedEvents == 2)
        #expect(table.flows.values.map(\.packets).sorted() == [1, 2])
    }

    @Test func timestampsFormatAsRFC3339() {
        #expect(WallTime(seconds: 0, microseconds: 0).rfc3339 == "1970-01-01T00:00:00.000000Z")
        #expect(WallTime(seconds: 951_782_400, microseconds: 5).rfc3339 == "2000-02-29T00:00:00.000005Z")
        #expect(WallTime(seconds: 4_102_444_799, microseconds: 999_999).rfc3339 == "2099-12-31T23:59:59.999999Z")
        // Untrusted extremes clamp instead of overflowing.
        #expect(WallTime(seconds: .min, microseconds: -1).rfc3339 == "1970-01-01T00:00:00.000000Z")
        #expect(WallTime(seconds: .max, microseconds: .max).rfc3339 == "9999-12-31T23:59:59.999999Z")
    }

    @Test func jsonStringsEscapeControlCharacters() {
        var line = JSONLine()
        line.field("k", "a\"b\\c\nd\u{01}")
        #expect(line.object == #"{"k":"a\"b\\c\nd\u0001"}"#)
    }
}

@Suite struct SequenceGapTests {
    func packet(sequence: UInt32) -> [UInt8] {
        typealias A = NflogProtocol.Attribute
        return Netlink.nflog(attributes: [
            Netlink.attribute(A.prefix, Array("cellos-flow drop r1".utf8) + [0]),
            Netlink.attribute(A.sequence, Bytes.be32(sequence)),
        ])
    }

    @Test func jumpsInTheKernelSequenceCountLostPackets() {
        var decoder = FlowDecoder()
        let datagram = [0, 1, 2, 5, 6, 10].flatMap { packet(sequence: $0) }
        withBytes(datagram) { decoder.process(datagram: $0, receivedAt: WallTime(seconds: 0, microseconds: 0)) { _ in } }
        #expect(decoder.stats.sequenceLost == 2 + 3)
        #expect(decoder.stats.matched == 6)
        // Wrapping past UInt32.max is not a loss; going backwards is not counted either.
        var wrapping = FlowDecoder()
        withBytes([UInt32.max, 0, 1, 0].flatMap { packet(sequence: $0) }) {
            wrapping.process(datagram: $0, receivedAt: WallTime(seconds: 0, microseconds: 0)) { _ in }
        }
        #expect(wrapping.stats.sequenceLost == 0)
    }
}

@Suite struct EventWriterTests {
    @Test func linesThatCannotBeWrittenAreCountedAsDropped() throws {
        // /dev/full fails every write with ENOSPC.
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(fd >= 0)
        var writer = EventWriter(fd: OwnedFD(adopting: fd))
        for index in 0..<3 { _ = writer.append("{\"n\":\(index)}") }
        let result = writer.flush()
        #expect(result.written == 0)
        #expect(result.dropped == 3)
    }

    @Test func linesAreWrittenWholeWithNewlines() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let reader = OwnedFD(adopting: fds[0])
        var writer = EventWriter(fd: OwnedFD(adopting: fds[1]))
        var line = JSONLine()
        line.field("type", "x")
        _ = writer.append(line)
        _ = writer.append("{}")
        let result = writer.flush()
        #expect(result.written == 2)
        #expect(result.dropped == 0)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(reader.rawValue, $0.baseAddress, $0.count) }
        #expect(String(decoding: buffer[..<max(0, count)], as: UTF8.self) == "{\"type\":\"x\"}\n{}\n")
    }
}

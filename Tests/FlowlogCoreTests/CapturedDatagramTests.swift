import Testing
@testable import FlowlogCore

/// A datagram captured from the kernel (Linux 6.18): nft in a namespace logged a
/// UDP datagram to 10.9.0.1:9999 and one to [fd00::1]:9999 with prefix
/// "cellos-flow drop r1" to group 3 (copy-packet mode, sequence flags on); one
/// recv returned both messages and the NLMSG_DONE that ends the batch.
@Suite struct CapturedDatagramTests {
    static let hex = "8400000000040000000000000000000002000003080001000800030018000a0063656c6c6f732d666c6f772064726f7020723100080005000000000108000b000000000008000e000000000008000c000000000008000d00000000012800090045000024ba88400040116c2d0a0900010a09000197ea270f001014356361707475726564980000000004000000000000000000000a0000030800010086dd030018000a0063656c6c6f732d666c6f772064726f7020723100080005000000000108000b000000000008000e000000000008000c000000000108000d00000000023c0009006002e40400101140fd000000000000000000000000000001fd000000000000000000000000000001dc05270f0010fa2463617074757265641400000003000000000000000000000000000003"

    static var bytes: [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    @Test func theCapturedBatchDecodesToTwoEvents() throws {
        var decoder = FlowDecoder()
        var events: [FlowEvent] = []
        withBytes(Self.bytes) { decoder.process(datagram: $0, receivedAt: WallTime(seconds: 0, microseconds: 0)) { events.append($0) } }
        #expect(decoder.stats.messages == 3)
        #expect(decoder.stats.packets == 2)
        #expect(decoder.stats.decodeFailures == 0)
        #expect(decoder.stats.sequenceLost == 0)
        try #require(events.count == 2)
        let v4 = events[0].jsonLine(cellID: "cap")
        #expect(v4 == #"{"type":"flow_event","time":"1970-01-01T00:00:00.000000Z","cell_id":"cap","verdict":"drop","rule":"r1","direction":"out","protocol":"udp","src":"10.9.0.1","dst":"10.9.0.1","sport":38890,"dport":9999,"length":36,"uid":0,"gid":0,"outdev":1,"seq":0,"group":3}"#)
        #expect(events[1].packet?.source.description == "fd00::1")
        #expect(events[1].packet?.sourcePort == 56325)
        #expect(events[1].packet?.destinationPort == 9999)
        #expect(events[1].packet?.length == 40 + 16)
        #expect(events[1].sequence == 1)
    }

    @Test func everyTruncationOfTheCaptureIsCountedNeverTrusted() {
        // Cutting the datagram anywhere must yield only whole, correct messages
        // before the cut and one counted failure for the rest.
        let whole = Self.bytes
        for length in 0..<whole.count {
            var decoder = FlowDecoder()
            var events = 0
            withBytes(Array(whole[..<length])) { decoder.process(datagram: $0, receivedAt: WallTime(seconds: 0, microseconds: 0)) { _ in events += 1 } }
            let complete = [0x84, 0x84 + 0x98].filter { $0 <= length }.count
            #expect(events == complete, "cut at \(length)")
            #expect(decoder.stats.decodeFailures == ([0, 0x84, 0x84 + 0x98].contains(length) ? 0 : 1), "cut at \(length)")
        }
    }
}

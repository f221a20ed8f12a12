import Testing
@testable import FlowlogCore
import IPCWire

@Suite struct PacketSummaryTests {
    func parse(_ bytes: [UInt8]) throws -> PacketSummary {
        try withBytes(bytes) { try PacketSummary.parse($0) }
    }

    @Test func ipv4UDP() throws {
        let summary = try parse(IPPacket.ipv4(source: [10, 1, 2, 3], destination: [192, 168, 0, 9], proto: 17, transport: IPPacket.udp(source: 40000, destination: 53)))
        #expect(summary.source.description == "10.1.2.3")
        #expect(summary.destination.description == "192.168.0.9")
        #expect(summary.protocolName == "udp")
        #expect(summary.sourcePort == 40000)
        #expect(summary.destinationPort == 53)
        #expect(summary.length == 20 + 12)
        #expect(summary.tcpFlags == nil)
    }

    @Test func ipv4WithOptionsAndTCPFlags() throws {
        let options: [UInt8] = [0x94, 0x04, 0, 0, 1, 1, 1, 0]  // router alert + NOPs + EOL: IHL 7
        let summary = try parse(IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 6, options: options, transport: IPPacket.tcp(source: 5555, destination: 443, flags: 0x12)))
        #expect(summary.sourcePort == 5555)
        #expect(summary.destinationPort == 443)
        #expect(summary.tcpFlags.map(TCPFlags.text) == "SA")
        #expect(summary.length == 28 + 20)
    }

    @Test func ipv4ICMPEcho() throws {
        let summary = try parse(IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 1, transport: IPPacket.icmp(type: 8, code: 0)))
        #expect(summary.protocolName == "icmp")
        #expect(summary.icmpType == 8)
        #expect(summary.icmpCode == 0)
        #expect(summary.sourcePort == nil)
    }

    @Test func ipv4LaterFragmentHasNoPorts() throws {
        let summary = try parse(IPPacket.ipv4(source: [10, 0, 0, 1], destination: [10, 0, 0, 2], proto: 17, fragmentOffset: 0x0010, transport: [1, 2, 3]))
        #expect(summary.isLaterFragment)
        #expect(summary.sourcePort == nil)
    }

    @Test func ipv6UDPBehindExtensionHeaders() throws {
        // hop-by-hop (8 bytes, next: destination options), destination options (16 bytes, next: UDP)
        let hopByHop: [UInt8] = [60, 0, 1, 4, 0, 0, 0, 0]
        let destination: [UInt8] = [17, 1] + Array(repeating: 0, count: 14)
        let summary = try parse(IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 0, extensions: hopByHop + destination, transport: IPPacket.udp(source: 1000, destination: 2000)))
        #expect(summary.source.description == "2001:db8::1")
        #expect(summary.destination.description == "2001:db8::2")
        #expect(summary.ipProtocol == 17)
        #expect(summary.sourcePort == 1000)
        #expect(summary.destinationPort == 2000)
        #expect(summary.length == 40 + 24 + 12)
    }

    @Test func ipv6ICMPv6AndFragments() throws {
        let echo = try parse(IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 58, transport: IPPacket.icmp(type: 128, code: 0)))
        #expect(echo.protocolName == "icmpv6")
        #expect(echo.icmpType == 128)
        let firstFragment: [UInt8] = [6, 0, 0, 1, 0, 0, 0, 9]  // offset 0, more fragments
        let first = try parse(IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 44, extensions: firstFragment, transport: IPPacket.tcp(source: 1, destination: 2, flags: 0x02)))
        #expect(first.destinationPort == 2)
        let laterFragment: [UInt8] = [6, 0, 0, 0x18, 0, 0, 0, 9]  // offset 3
        let later = try parse(IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 44, extensions: laterFragment, transport: [1, 2, 3, 4]))
        #expect(later.isLaterFragment)
        #expect(later.ipProtocol == 6)
        #expect(later.destinationPort == nil)
    }

    @Test func malformedPacketsAreRejected() {
        let tcp = IPPacket.ipv4(source: [1, 1, 1, 1], destination: [2, 2, 2, 2], proto: 6, transport: IPPacket.tcp(source: 1, destination: 2, flags: 2))
        #expect(throws: PacketDecodeError.truncated(layer: "TCP", have: 10, need: 20)) { try parse(Array(tcp[..<30])) }
        #expect(throws: PacketDecodeError.empty) { try parse([]) }
        #expect(throws: PacketDecodeError.unknownVersion(5)) { try parse([0x50] + Array(repeating: 0, count: 30)) }
        var shortIHL = tcp
        shortIHL[0] = 0x44
        #expect(throws: PacketDecodeError.badHeaderLength(layer: "IPv4", value: 16)) { try parse(shortIHL) }
        var longIHL = tcp
        longIHL[0] = 0x4F  // 60-byte header in a 40-byte packet
        #expect(throws: PacketDecodeError.truncated(layer: "IPv4", have: 40, need: 60)) { try parse(longIHL) }
        let udp = IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 17, transport: IPPacket.udp(source: 1, destination: 2))
        #expect(throws: PacketDecodeError.truncated(layer: "IPv6", have: 39, need: 40)) { try parse(Array(udp[..<39])) }
        #expect(throws: PacketDecodeError.truncated(layer: "UDP", have: 4, need: 8)) { try parse(Array(udp[..<44])) }
        let loop: [UInt8] = (0..<10).flatMap { _ in [60, 0, 0, 0, 0, 0, 0, 0] }  // destination options chained forever
        #expect(throws: PacketDecodeError.tooManyExtensionHeaders) {
            try parse(IPPacket.ipv6(source: IPPacket.v6a, destination: IPPacket.v6b, next: 60, extensions: loop, transport: []))
        }
    }

    @Test(arguments: [
        (IPAddress.v6(0x2001_0db8_0000_0000, 1), "2001:db8::1"),
        (.v6(0, 1), "::1"),
        (.v6(0, 0), "::"),
        (.v6(0x2001_0db8_0000_0001, 0x0000_0000_0000_0001), "2001:db8:0:1::1"),
        (.v6(0x2001_0db8_0001_0000, 0x0001_0000_0000_0001), "2001:db8:1:0:1::1"),
        (.v6(0xfe80_0000_0000_0000, 0x0000_0000_0001_0000), "fe80::1:0"),
        (.v4(0x0A00_00FF), "10.0.0.255"),
    ])
    func addressesFormatPerRFC5952(address: IPAddress, text: String) {
        #expect(address.description == text)
    }
}

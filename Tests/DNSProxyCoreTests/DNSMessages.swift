/// Builds DNS messages byte by byte for the tests.
enum DNSMessages {
    /// Wire form of a dotted name, letter case kept ("" is the root).
    static func wire(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for label in name.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes.append(contentsOf: label.utf8)
        }
        return bytes + [0]
    }

    static func query(
        id: UInt16 = 0x1234, flags: UInt16 = 0x0100, qdcount: UInt16 = 1, name: [UInt8],
        qtype: UInt16 = 1, qclass: UInt16 = 1, trailer: [UInt8] = []
    ) -> [UInt8] {
        var bytes = be(id) + be(flags) + be(qdcount) + be(0) + be(0) + be(trailer.isEmpty ? 0 : 1)
        bytes += name + be(qtype) + be(qclass) + trailer
        return bytes
    }

    static func query(_ name: String, qtype: UInt16 = 1, id: UInt16 = 0x1234) -> [UInt8] {
        query(id: id, name: wire(name), qtype: qtype)
    }

    /// An EDNS0 OPT pseudo-record with a 1232-byte UDP size and no options.
    static let ednsOPT: [UInt8] = [0] + be(41) + be(1232) + [0, 0, 0, 0] + be(0)

    /// A response to `question` (name+type+class bytes) with one A record.
    static func answer(id: UInt16, question: [UInt8], rcode: UInt8 = 0) -> [UInt8] {
        var bytes = be(id) + be(0x8180 | UInt16(rcode)) + be(1) + be(1) + be(0) + be(0) + question
        bytes += [0xC0, 12] + be(1) + be(1) + [0, 0, 0, 60] + be(4) + [192, 0, 2, 10]
        return bytes
    }

    static func be(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}

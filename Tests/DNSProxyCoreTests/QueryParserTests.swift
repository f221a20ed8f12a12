@testable import DNSProxyCore
import Testing

@Suite struct QueryParserTests {
    func parse(_ bytes: [UInt8]) throws(MalformedQuery) -> DNSQuery {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(MalformedQuery) in try DNSQueryParser.parse(raw) } }
        return try result.get()
    }

    func failure(_ bytes: [UInt8]) -> MalformedQuery? {
        do { _ = try parse(bytes); return nil } catch { return error }
    }

    @Test func wellFormedQueryIsDelimitedWithoutCopying() throws {
        let bytes = DNSMessages.query(id: 0xBEEF, flags: 0x0100, name: DNSMessages.wire("WwW.Example.com"), qtype: 28)
        let query = try parse(bytes)
        #expect(query.id == 0xBEEF)
        #expect(query.qtype == 28)
        #expect(query.qclass == 1)
        #expect(query.recursionDesired)
        #expect(query.nameLength == 17)
        #expect(query.questionRange == 12 ..< 33)
        #expect(query.questionEnd == bytes.count)
    }

    @Test func ednsTrailerIsAccepted() throws {
        let bytes = DNSMessages.query(name: DNSMessages.wire("a.b"), trailer: DNSMessages.ednsOPT)
        let query = try parse(bytes)
        #expect(query.questionEnd == bytes.count - DNSMessages.ednsOPT.count)
    }

    @Test func rootNameIsAQuery() throws {
        let query = try parse(DNSMessages.query(name: [0], qtype: 2))
        #expect(query.nameLength == 1)
    }

    @Test(arguments: [0, 1, 11])
    func shorterThanHeader(length: Int) {
        #expect(failure(Array(repeating: 0, count: length)) == .shorterThanHeader(length))
    }

    @Test func responseIsNotAQuery() {
        #expect(failure(DNSMessages.query(flags: 0x8100, name: DNSMessages.wire("a.b"))) == .notAQuery)
    }

    @Test(arguments: [UInt16(1), 2, 4, 5, 15])
    func otherOpcodesAreMalformed(opcode: UInt16) {
        #expect(failure(DNSMessages.query(flags: opcode << 11, name: DNSMessages.wire("a.b"))) == .opcodeNotQuery(opcode))
    }

    @Test(arguments: [UInt16(0), 2, 0xFFFF])
    func questionCountMustBeOne(count: UInt16) {
        #expect(failure(DNSMessages.query(qdcount: count, name: DNSMessages.wire("a.b"))) == .questionCount(count))
    }

    @Test func compressionPointerInQuestionIsMalformed() {
        // "www" then a pointer back to offset 12.
        let name: [UInt8] = [3, 0x77, 0x77, 0x77, 0xC0, 12]
        #expect(failure(DNSMessages.query(name: name)) == .compressionPointer)
    }

    @Test func labelOf64OctetsIsMalformed() {
        let name = [UInt8(64)] + Array(repeating: UInt8(ascii: "a"), count: 64) + [0]
        #expect(failure(DNSMessages.query(name: name)) == .labelTooLong(64))
        let exact = [UInt8(63)] + Array(repeating: UInt8(ascii: "a"), count: 63) + [0]
        #expect(failure(DNSMessages.query(name: exact)) == nil)
    }

    @Test func extendedLabelTypesAreMalformed() {
        #expect(failure(DNSMessages.query(name: [0x41, 0, 0])) == .labelTooLong(0x41))
        #expect(failure(DNSMessages.query(name: [0x80, 0])) == .labelTooLong(0x80))
    }

    /// 255 octets on the wire is the limit: 3 labels of 63 and one of 61 plus the root.
    @Test func nameLengthLimitIs255OnTheWire() throws {
        func name(lastLabel: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            for length in [63, 63, 63, lastLabel] {
                bytes.append(UInt8(length))
                bytes += Array(repeating: UInt8(ascii: "x"), count: length)
            }
            return bytes + [0]
        }
        #expect(name(lastLabel: 61).count == 255)
        #expect(try parse(DNSMessages.query(name: name(lastLabel: 61))).nameLength == 255)
        #expect(failure(DNSMessages.query(name: name(lastLabel: 62))) == .nameTooLong)
    }

    @Test func questionRunningPastTheEndIsMalformed() {
        let full = DNSMessages.query(name: DNSMessages.wire("example.com"))
        for cut in 13 ..< full.count {
            #expect(failure(Array(full[..<cut])) == .truncatedQuestion, "cut at \(cut)")
        }
    }

    @Test(arguments: [UInt16(3), 4, 255])
    func classOtherThanINIsMalformed(qclass: UInt16) {
        #expect(failure(DNSMessages.query(name: DNSMessages.wire("a.b"), qclass: qclass)) == .classNotIN(qclass))
    }

    @Test func everyRuleHasAnEventDetail() {
        let details = [
            MalformedQuery.shorterThanHeader(1), .notAQuery, .opcodeNotQuery(1), .questionCount(0), .compressionPointer,
            .labelTooLong(64), .nameTooLong, .truncatedQuestion, .classNotIN(3),
        ].map(\.detail)
        #expect(Set(details).count == details.count)
    }
}

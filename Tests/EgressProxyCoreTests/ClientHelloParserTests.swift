@testable import EgressProxyCore
import Testing

@Suite struct ClientHelloParserTests {
    func parse(_ bytes: [UInt8], max: Int = 32_768) -> ClientHelloResult {
        bytes.withUnsafeBytes { ClientHelloParser.parse($0, maxHandshakeLength: max) }
    }

    @Test func findsTheServerNameLowerCased() {
        #expect(parse(ClientHellos.withSNI("API.Example.com")) == .found("api.example.com"))
    }

    @Test func everyProperPrefixNeedsMore() {
        let hello = ClientHellos.withSNI("www.example.com")
        for length in 0 ..< hello.count { #expect(parse(Array(hello[..<length])) == .needMore, "prefix \(length)") }
        #expect(parse(hello) == .found("www.example.com"))
    }

    @Test func reassemblesAcrossManySmallRecords() {
        let hello = ClientHellos.withSNI("split.example.com", recordSize: 7)
        #expect(parse(hello) == .found("split.example.com"))
    }

    @Test func acceptsAClientHelloSpanningTwoFullRecords() {
        let hello = ClientHellos.withSNI("big.example.com", padding: 20_000)
        #expect(hello.count > 16_384 + 5)
        #expect(parse(hello) == .found("big.example.com"))
    }

    @Test func boundsTheHandshakeLength() {
        #expect(parse(ClientHellos.withSNI("big.example.com", padding: 40_000), max: 32_768) == .malformed(.tooLarge))
        // Refused as soon as the header is in, not after reading it all.
        let header = Array(ClientHellos.withSNI("big.example.com", padding: 40_000)[..<9])
        #expect(parse(header, max: 32_768) == .malformed(.tooLarge))
    }

    @Test func boundsTheRecordCount() {
        #expect(parse(ClientHellos.withSNI("tiny.example.com", recordSize: 1)) == .malformed(.tooManyRecords))
    }

    @Test func recordsLongerThan16KiBAreMalformed() {
        #expect(parse([22, 3, 1, 0x40, 0x01, 1]) == .malformed(.badRecordLength))
        #expect(parse([22, 3, 1, 0, 0]) == .malformed(.badRecordLength))
    }

    @Test func noExtensionsOrNoServerNameIsAbsent() {
        #expect(parse(ClientHellos.records(ClientHellos.message(extensions: nil))) == .noServerName(.absent))
        #expect(parse(ClientHellos.records(ClientHellos.message(extensions: ClientHellos.extensionBlock(43, [2, 3, 4]))))
            == .noServerName(.absent))
    }

    @Test func encryptedClientHelloHidesTheNameEvenWithAnOuterSNI() {
        let extensions = ClientHellos.serverNameExtension("public.example.com") + ClientHellos.extensionBlock(0xfe0d, [0, 1, 2])
        #expect(parse(ClientHellos.records(ClientHellos.message(extensions: extensions))) == .noServerName(.encryptedClientHello))
    }

    @Test func duplicateServerNameExtensionsAreMalformed() {
        let extensions = ClientHellos.serverNameExtension("a.example.com") + ClientHellos.serverNameExtension("b.example.com")
        #expect(parse(ClientHellos.records(ClientHellos.message(extensions: extensions))) == .malformed(.duplicateExtension))
    }

    @Test(arguments: ["", "a..b", "exa mple.com", "10.0.0.1", "a.b.", String(repeating: "a", count: 64) + ".com", "bad\u{0}.com"])
    func namesThatAreNotHostNamesAreMalformed(_ name: String) {
        #expect(parse(ClientHellos.withSNI(name)) == .malformed(.badServerName))
    }

    @Test func otherRecordTypesAndVersionsAreMalformed() {
        var hello = ClientHellos.withSNI("x.example.com")
        hello[0] = 23
        #expect(parse(hello) == .malformed(.notHandshakeRecord))
        hello[0] = 22
        hello[1] = 2
        #expect(parse(hello) == .malformed(.badRecordVersion))
        #expect(parse(Array("GET / HTTP/1.1\r\n".utf8)) == .malformed(.notHandshakeRecord))
    }

    @Test func aServerHelloIsNotAClientHello() {
        var hello = ClientHellos.withSNI("x.example.com")
        hello[5] = 2
        #expect(parse(hello) == .malformed(.notClientHello))
    }

    @Test func bytesAfterTheClientHelloInItsRecordAreMalformed() {
        let message = ClientHellos.message(extensions: ClientHellos.serverNameExtension("x.example.com"))
        let record = [22, 3, 1] + ClientHellos.u16(message.count + 1) + message + [0]
        #expect(parse(record) == .malformed(.trailingBytes))
    }

    @Test func inconsistentExtensionLengthsAreMalformed() {
        var hello = ClientHellos.withSNI("x.example.com")
        // The extensions length field follows header(5+4), version, random, session id, suites, compression.
        let offset = 9 + 2 + 32 + 33 + 6 + 2
        hello[offset + 1] &+= 1
        #expect(parse(hello) == .malformed(.badExtensions))
    }
}

/// ClientHellos openssl s_client really sent (the fuzz seeds), whole and in 1-byte reads.
@Suite struct RealClientHelloTests {
    static let corpus = URLlessPath.directory(of: #filePath) + "/../../fuzz/corpus/client-hello/"

    @Test(arguments: [("openssl-sni", ClientHelloResult.found("a.example.com")), ("openssl-tls12", .found("b.example.com")),
                      ("openssl-no-sni", .noServerName(.absent))])
    func opensslClientHellos(_ file: String, _ expected: ClientHelloResult) throws {
        let bytes = try URLlessPath.read(Self.corpus + file)
        #expect(bytes.withUnsafeBytes { ClientHelloParser.parse($0) } == expected)
        #expect(bytes.dropLast().withUnsafeBytes { ClientHelloParser.parse($0) } == .needMore)
    }
}

@testable import EgressProxyCore
import Testing

@Suite struct HTTPRequestParserTests {
    func parse(_ text: String, max: Int = 8192) -> HTTPHeadResult {
        Array(text.utf8).withUnsafeBytes { HTTPRequestParser.parse($0, maxHeadLength: max) }
    }

    func head(_ text: String) throws -> HTTPRequestHead {
        guard case .complete(let head) = parse(text) else { throw Failure(text) }
        return head
    }

    struct Failure: Error { let text: String; init(_ text: String) { self.text = text } }

    @Test func originFormNamesTheServerByHost() throws {
        let request = "GET /a?b HTTP/1.1\r\nHost: Www.Example.com\r\nAccept: */*\r\n\r\nbody"
        let parsed = try head(request)
        #expect(parsed.method == "GET")
        #expect(parsed.target == .origin)
        #expect(parsed.host == Authority(host: "www.example.com", port: nil))
        #expect(parsed.length == request.utf8.count - 4)
    }

    @Test func connectNamesHostAndPort() throws {
        let parsed = try head("CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n")
        #expect(parsed.target == .authority(Authority(host: "api.example.com", port: 443)))
        #expect(parse("CONNECT api.example.com HTTP/1.1\r\n\r\n") == .malformed(.badTarget))
    }

    @Test func absoluteFormKeepsThePathForTheOrigin() throws {
        let parsed = try head("GET http://a.example.com:8080/x/y?z HTTP/1.1\r\nHost: a.example.com:8080\r\n\r\n")
        #expect(parsed.target == .absolute(Authority(host: "a.example.com", port: 8080), path: "/x/y?z"))
        #expect(try head("GET http://a.example.com HTTP/1.1\r\n\r\n").target == .absolute(Authority(host: "a.example.com", port: nil), path: "/"))
    }

    @Test func userinfoInAnAbsoluteURIIsRefused() {
        #expect(parse("GET http://allowed.example.com@evil.test/ HTTP/1.1\r\n\r\n") == .malformed(.badTarget))
        #expect(parse("GET https://a.example.com/ HTTP/1.1\r\n\r\n") == .malformed(.badTarget))
    }

    @Test func incompleteHeadsNeedMoreUntilTheBound() {
        #expect(parse("GET / HTTP/1.1\r\nHost: a.example.com\r\n") == .needMore)
        #expect(parse("") == .needMore)
        let long = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000)
        #expect(parse(long) == .malformed(.tooLarge))
        #expect(parse("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n", max: 20) == .malformed(.tooLarge))
    }

    @Test func oneHostOnly() {
        #expect(parse("GET / HTTP/1.1\r\nHost: a.example.com\r\nhost: b.example.com\r\n\r\n") == .malformed(.duplicateHost))
        #expect(parse("GET / HTTP/1.1\r\nAccept: x\r\n\r\n") == .malformed(.missingHost))
    }

    @Test(arguments: [
        "GET / HTTP/1.1\nHost: a.example.com\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.example.com\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\nHost: a.example.com\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.example.com\rX: y\r\n\r\n",
    ])
    func strictLineEndsAndFieldNames(_ request: String) {
        #expect(parse(request) == .malformed(.badHeader))
    }

    @Test(arguments: ["GET  / HTTP/1.1", "G(T / HTTP/1.1", "GET /", " / HTTP/1.1"])
    func badRequestLines(_ line: String) {
        #expect(parse(line + "\r\nHost: a.example.com\r\n\r\n") == .malformed(.badRequestLine))
    }

    @Test func onlyHTTP1() {
        #expect(parse("GET / HTTP/2.0\r\nHost: a.example.com\r\n\r\n") == .malformed(.badVersion))
    }

    @Test(arguments: ["10.0.0.1", "[::1]:80", "a.example.com:0", "a.example.com:99999", "a b", ""])
    func hostsThatAreNotNamesAreRefused(_ host: String) {
        #expect(parse("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n") == .malformed(.badHost))
    }
}

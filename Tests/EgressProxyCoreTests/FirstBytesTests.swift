@testable import EgressProxyCore
import Testing

@Suite struct FirstBytesTests {
    func inspect(_ bytes: [UInt8], _ arrival: Arrival) -> Inspection {
        bytes.withUnsafeBytes { FirstBytes.inspect($0, arrival: arrival) }
    }

    @Test func transparentTLSUsesTheSNIAndTheOriginalPort() {
        let hello = ClientHellos.withSNI("a.example.com")
        #expect(inspect(hello, .transparent(port: 443)) == .reach(name: "a.example.com", port: 443, proto: .tls, forward: hello))
        #expect(inspect(Array(hello[..<10]), .transparent(port: 443)) == .needMore)
    }

    @Test func transparentHTTPUsesHostAndRefusesAHostPortThatIsNotTheDestination() {
        let request = Array("GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n".utf8)
        #expect(inspect(request, .transparent(port: 80)) == .reach(name: "a.example.com", port: 80, proto: .http, forward: request))
        guard case .refused(let refusal) = inspect(Array("GET / HTTP/1.1\r\nHost: a.example.com:8080\r\n\r\n".utf8), .transparent(port: 80))
        else { Issue.record("not refused"); return }
        #expect(refusal.reason == EgressReason.nameMismatch.rawValue)
    }

    @Test func explicitAbsoluteFormIsRewrittenToOriginForm() {
        let request = Array("GET http://a.example.com/x HTTP/1.1\r\nHost: a.example.com\r\n\r\n".utf8)
        #expect(inspect(request, .explicit)
            == .reach(name: "a.example.com", port: 80, proto: .http, forward: Array("GET /x HTTP/1.1\r\nHost: a.example.com\r\n\r\n".utf8)))
    }

    @Test func explicitAbsoluteFormWithAnotherHostIsAMismatch() {
        guard case .refused(let refusal) = inspect(Array("GET http://a.example.com/ HTTP/1.1\r\nHost: b.example.com\r\n\r\n".utf8), .explicit)
        else { Issue.record("not refused"); return }
        #expect(refusal.reason == "name_mismatch")
    }

    @Test func connectThenTheTunnelMustNameTheSameHost() {
        let connect = Array("CONNECT a.example.com:443 HTTP/1.1\r\n\r\n".utf8)
        let authority = Authority(host: "a.example.com", port: 443)
        #expect(inspect(connect, .explicit) == .connect(authority, consumed: connect.count))
        let same = ClientHellos.withSNI("a.example.com")
        #expect(same.withUnsafeBytes { FirstBytes.tunnel($0, expected: authority) } == .reach(name: "a.example.com", port: 443, proto: .tls, forward: same))
        let other = ClientHellos.withSNI("b.example.com")
        guard case .refused(let refusal) = other.withUnsafeBytes({ FirstBytes.tunnel($0, expected: authority) })
        else { Issue.record("not refused"); return }
        #expect(refusal.reason == "name_mismatch")
        #expect(refusal.name == "a.example.com")
    }

    @Test func noSNIAndGarbageAreRefused() {
        guard case .refused(let noSNI) = inspect(ClientHellos.records(ClientHellos.message(extensions: nil)), .transparent(port: 443)),
              case .refused(let garbage) = inspect(Array("\u{1}\u{2}\r\n\r\n".utf8), .transparent(port: 443))
        else { Issue.record("not refused"); return }
        #expect(noSNI.reason == "no_sni")
        #expect(garbage.reason == "malformed")
    }
}

@testable import DNSProxyCore
import Foundation
import Testing

@Suite struct ConfigurationTests {
    func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dnsproxy-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func options(_ edit: (inout ProxyOptions) -> Void) -> ProxyOptions {
        var options = ProxyOptions()
        options.upstream = "127.0.0.1:53"
        edit(&options)
        return options
    }

    func error(_ options: ProxyOptions) -> ConfigurationError? {
        do { _ = try ProxyConfiguration.resolve(options); return nil } catch { return error }
    }

    @Test func flagsAreCombined() throws {
        let configuration = try ProxyConfiguration.resolve(options {
            $0.listen = "[::1]:5353"
            $0.upstream = "192.0.2.1:5300"
            $0.allow = ["example.com", "*.example.org"]
            $0.allowQueryTypes = ["TXT", "TYPE65"]
            $0.cellID = "cell-7"
            $0.upstreamTimeout = "1500ms"
        })
        #expect(configuration.listen?.description == "[::1]:5353")
        #expect(configuration.upstream.description == "192.0.2.1:5300")
        #expect(configuration.names.patterns.map(\.description) == ["example.com", "*.example.org"])
        #expect(configuration.queryTypes.types == [16, 65])
        #expect(configuration.cellID == "cell-7")
        #expect(configuration.upstreamTimeoutMilliseconds == 1500)
    }

    @Test func defaults() throws {
        let configuration = try ProxyConfiguration.resolve(options { _ in })
        #expect(configuration.queryTypes.types == QueryTypeAllowlist.defaultTypes)
        #expect(configuration.upstreamTimeoutMilliseconds == 2000)
        #expect(configuration.names.patterns.isEmpty)
        #expect(configuration.listen == nil)
        #expect(!configuration.allowCapabilities)
    }

    @Test func upstreamDefaultsToFirstNameserverOfResolvConf() throws {
        let path = try temporaryFile("# comment\nsearch example\nnameserver fe80::1%eth0\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n")
        defer { unlink(path) }
        let configuration = try ProxyConfiguration.resolve(options { $0.upstream = nil; $0.resolvConfPath = path })
        #expect(configuration.upstream.description == "192.0.2.53:53")
        let empty = try temporaryFile("search example\n")
        defer { unlink(empty) }
        #expect(error(options { $0.upstream = nil; $0.resolvConfPath = empty }) == .noUpstream(resolvConf: empty))
    }

    @Test func policyFileIsMergedWithFlags() throws {
        let path = try temporaryFile("""
            {"allow": ["a.test", "*.b.test"], "allow_qtypes": ["MX"], "upstream": "[2001:db8::1]:53",
             "upstream_timeout_ms": 750, "cell_id": "from-file"}
            """)
        defer { unlink(path) }
        let configuration = try ProxyConfiguration.resolve(options {
            $0.upstream = nil
            $0.policyFile = path
            $0.allow = ["c.test"]
            $0.cellID = "from-flag"
        })
        #expect(configuration.names.patterns.map(\.description) == ["a.test", "*.b.test", "c.test"])
        #expect(configuration.queryTypes.types == [15])
        #expect(configuration.upstream.description == "[2001:db8::1]:53")
        #expect(configuration.upstreamTimeoutMilliseconds == 750)
        #expect(configuration.cellID == "from-flag")
    }

    @Test func policyFileWithUnknownFieldNamesIt() throws {
        let path = try temporaryFile(#"{"allow": ["a.test"], "alow_qtypes": ["A"]}"#)
        defer { unlink(path) }
        guard case .policyFile(_, let reason) = error(options { $0.policyFile = path }) else {
            Issue.record("expected a policy file error")
            return
        }
        #expect(reason.contains("alow_qtypes"))
    }

    @Test func policyFileProblemsNameTheFieldAndValue() throws {
        let badType = try temporaryFile(#"{"allow": "a.test"}"#)
        defer { unlink(badType) }
        guard case .policyFile(_, let reason) = error(options { $0.policyFile = badType }) else {
            Issue.record("expected a policy file error")
            return
        }
        #expect(reason.contains("allow"))
        let badName = try temporaryFile(#"{"allow": ["bad name"]}"#)
        defer { unlink(badName) }
        #expect(error(options { $0.policyFile = badName }) == .invalidName(flag: "policy field allow", value: "bad name"))
        #expect(error(options { $0.policyFile = "/nonexistent/policy.json" }) != nil)
    }

    @Test func invalidFlagsAreNamed() {
        #expect(error(options { $0.listen = "127.0.0.1" }) == .invalidAddress(flag: "--listen", value: "127.0.0.1"))
        #expect(error(options { $0.upstream = "example.com:53" }) == .invalidAddress(flag: "--upstream", value: "example.com:53"))
        #expect(error(options { $0.upstream = "127.0.0.1:70000" }) == .invalidAddress(flag: "--upstream", value: "127.0.0.1:70000"))
        #expect(error(options { $0.allow = ["*"] }) == .invalidName(flag: "--allow", value: "*"))
        #expect(error(options { $0.allowQueryTypes = ["NOPE"] }) == .invalidQueryType(flag: "--allow-qtype", value: "NOPE"))
        #expect(error(options { $0.upstreamTimeout = "soon" }) == .invalidDuration(flag: "--upstream-timeout", value: "soon"))
        #expect(error(options { $0.upstreamTimeout = "0" }) == .outOfRange(flag: "--upstream-timeout (ms)", value: 0, range: 1...60_000))
        #expect(error(options { $0.maxInflight = 40000 }) == .outOfRange(flag: "--max-inflight", value: 40000, range: 1...32768))
        #expect(error(options { $0.tcpMaxInflightPerConnection = 0 }) == .outOfRange(flag: "--tcp-max-inflight", value: 0, range: 1...32768))
        #expect(error(options { $0.cellID = "a\"b" }) == .invalidCellID("a\"b"))
    }

    @Test func durations() {
        #expect(ProxyConfiguration.parseMilliseconds("2") == 2000)
        #expect(ProxyConfiguration.parseMilliseconds("2s") == 2000)
        #expect(ProxyConfiguration.parseMilliseconds("0.25s") == 250)
        #expect(ProxyConfiguration.parseMilliseconds("300ms") == 300)
        #expect(ProxyConfiguration.parseMilliseconds("-1") == nil)
        #expect(ProxyConfiguration.parseMilliseconds("ms") == nil)
    }

    @Test func socketAddressesParseAndPrint() throws {
        #expect(SocketAddress.parse("127.0.0.1:53")?.description == "127.0.0.1:53")
        #expect(SocketAddress.parse("[::1]:5353")?.description == "[::1]:5353")
        #expect(SocketAddress.parse("::1", defaultPort: 53)?.description == "[::1]:53")
        #expect(SocketAddress.parse("10.0.0.1", defaultPort: 53)?.port == 53)
        for bad in ["", "127.0.0.1", "[::1]", "[::1]x", "1.2.3:53", "host:53", ":53"] {
            #expect(SocketAddress.parse(bad) == nil, "\(bad)")
        }
        let a = try #require(SocketAddress.parse("127.0.0.1:53"))
        let b = try #require(SocketAddress.parse("127.0.0.1:54"))
        #expect(a.key != b.key)
        #expect(a.key == SocketAddress.parse("127.0.0.1:53")?.key)
    }
}

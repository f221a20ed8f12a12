@testable import DNSProxyCore
import Testing

@Suite struct AllowlistTests {
    func allowlist(_ patterns: [String]) throws -> NameAllowlist {
        NameAllowlist(try patterns.map { try #require(NamePattern($0), "pattern \($0)") })
    }

    func allows(_ list: NameAllowlist, _ name: String) -> Bool {
        DNSMessages.wire(name).withUnsafeBytes { list.allows($0) }
    }

    @Test func exactNameMatchesOnlyItself() throws {
        let list = try allowlist(["example.com"])
        #expect(allows(list, "example.com"))
        #expect(!allows(list, "www.example.com"))
        #expect(!allows(list, "com"))
        #expect(!allows(list, "example.org"))
        #expect(!allows(list, "badexample.com"))
    }

    @Test func wildcardMatchesOneOrMoreLabelsBelowButNotTheApex() throws {
        let list = try allowlist(["*.example.com"])
        #expect(allows(list, "www.example.com"))
        #expect(allows(list, "a.b.c.example.com"))
        #expect(!allows(list, "example.com"))
        #expect(!allows(list, "badexample.com"))
        #expect(!allows(list, "www.example.com.evil"))
    }

    @Test func matchingIgnoresCaseOnBothSides() throws {
        let list = try allowlist(["Example.COM", "*.Cdn.Example.NET"])
        #expect(allows(list, "eXaMpLe.CoM"))
        #expect(allows(list, "X.CDN.example.net"))
    }

    @Test func trailingDotIsIgnored() throws {
        let list = try allowlist(["example.com.", "*.example.org."])
        #expect(allows(list, "example.com"))
        #expect(allows(list, "a.example.org"))
        #expect(try #require(NamePattern("example.com.")) == #require(NamePattern("EXAMPLE.com")))
    }

    @Test func emptyListAllowsNothing() throws {
        let list = try allowlist([])
        #expect(!allows(list, "example.com"))
        #expect(!allows(list, ""))
    }

    @Test func manyPatternsOfEqualLength() throws {
        let names = (0 ..< 500).map { "host\(1000 + $0).example.com" }
        let list = try allowlist(names)
        for name in names { #expect(allows(list, name)) }
        #expect(!allows(list, "host0999.example.com"))
        #expect(!allows(list, "host1500.example.com"))
    }

    @Test(arguments: ["", ".", "*", "*.", "**.example.com", "a.*.example.com", "a..b", "exa mple.com",
                      "ex\"ample.com", String(repeating: "a", count: 64) + ".com",
                      Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")])
    func invalidPatternsAreRejected(text: String) {
        #expect(NamePattern(text) == nil)
    }

    @Test func patternDescriptionIsCanonical() throws {
        #expect(try #require(NamePattern("*.Example.COM.")).description == "*.example.com")
    }

    @Test func queryTypesParseByMnemonicOrNumber() {
        #expect(DNSQueryType.parse("A") == 1)
        #expect(DNSQueryType.parse("aaaa") == 28)
        #expect(DNSQueryType.parse("TXT") == 16)
        #expect(DNSQueryType.parse("HTTPS") == 65)
        #expect(DNSQueryType.parse("TYPE65") == 65)
        #expect(DNSQueryType.parse("type257") == 257)
        #expect(DNSQueryType.parse("65535") == 65535)
        for bad in ["", "TYPE", "TYPE65536", "XYZ", "-1", "A A", "TYPE+1"] { #expect(DNSQueryType.parse(bad) == nil, "\(bad)") }
        #expect(DNSQueryType.name(28) == "AAAA")
        #expect(DNSQueryType.name(4242) == "TYPE4242")
    }

    @Test func queryTypeAllowlistDefaultsAndMembership() {
        let defaults = QueryTypeAllowlist(QueryTypeAllowlist.defaultTypes)
        for type: UInt16 in [1, 28, 5, 65] { #expect(defaults.allows(type)) }
        for type: UInt16 in [0, 2, 16, 64, 255, 65535] { #expect(!defaults.allows(type)) }
        let custom = QueryTypeAllowlist([16, 65535, 16])
        #expect(custom.types == [16, 65535])
        #expect(custom.allows(65535) && !custom.allows(1))
    }
}

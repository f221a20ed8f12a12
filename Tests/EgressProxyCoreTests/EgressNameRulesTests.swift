import EgressProxyCore
import Testing

@Suite struct EgressNameRulesTests {
    func rules(_ entries: [String], ports: [UInt16] = [443, 80]) throws -> EgressNameRules {
        EgressNameRules(try entries.map { try #require(EgressNameRule($0), "rule \($0)") }, defaultPorts: ports)
    }

    @Test func namesWithoutPortsAllowTheDefaultPorts() throws {
        let list = try rules(["example.com", "*.cdn.example.net"])
        #expect(list.decide(name: "example.com", port: 443) == .allowed)
        #expect(list.decide(name: "example.com", port: 80) == .allowed)
        #expect(list.decide(name: "example.com", port: 22) == .deniedPort)
        #expect(list.decide(name: "x.cdn.example.net", port: 443) == .allowed)
        #expect(list.decide(name: "cdn.example.net", port: 443) == .deniedName)
        #expect(list.decide(name: "www.example.com", port: 443) == .deniedName)
    }

    @Test func aPortOnAnEntryAllowsOnlyThatPortForIt() throws {
        let list = try rules(["api.example.com:8443", "example.com"])
        #expect(list.decide(name: "api.example.com", port: 8443) == .allowed)
        #expect(list.decide(name: "api.example.com", port: 443) == .deniedPort)
        #expect(list.decide(name: "example.com", port: 8443) == .deniedPort)
    }

    @Test(arguments: ["", "a..b", "x.com:0", "x.com:65536", "*.", "x.com:"])
    func badEntriesAreRejected(_ entry: String) {
        #expect(EgressNameRule(entry) == nil)
    }
}

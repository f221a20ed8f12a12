@testable import BrokerCore
import IPCWire
import Testing

@Suite struct L7SpecTests {
    static let base = #""version": 1, "id": "l7", "argv": ["/bin/true"]"#

    static func decode(_ members: String) throws(SpecError) -> CellSpec {
        try CellSpecDecoder.decode(Array("{\(base), \(members)}".utf8))
    }

    @Test func namesPortsAndModeBecomeThePolicysL7SectionAndRoundTrip() throws {
        let spec = try Self.decode(#""egress_names": ["API.example.com", "*.cdn.example.net:8443"], "egress_ports": [443], "egress_mode": "transparent""#)
        let l7 = try #require(spec.l7)
        #expect(l7.names.map(\.description) == ["api.example.com", "*.cdn.example.net:8443"])
        #expect(l7.ports == [443])
        #expect(l7.mode == .transparent)
        let policy = try CellRequests.policy(spec)
        #expect(policy.l7 == (try L7Egress(names: ["api.example.com", "*.cdn.example.net:8443"], ports: [443], mode: .transparent)))
        #expect(try CellSpecDecoder.decode(Array(spec.json.serialized().utf8)) == spec)
    }

    @Test func defaultsAreBothModesOn443And80() throws {
        let l7 = try #require(try Self.decode(#""egress_names": ["a.example.com"]"#).l7)
        #expect(l7.ports == [443, 80])
        #expect(l7.mode == .both)
        #expect(try CellSpecDecoder.decode(Array("{\(Self.base)}".utf8)).l7 == nil)
    }

    @Test(arguments: [
        (#""egress_names": []"#, "egress_names"),
        (#""egress_names": ["bad name"]"#, "egress_names[0]"),
        (#""egress_names": ["a.example.com:0"]"#, "egress_names[0]"),
        (#""egress_names": ["a.example.com"], "egress_ports": [443, 443]"#, "egress_ports[1]"),
        (#""egress_names": ["a.example.com"], "egress_mode": "sideways""#, "egress_mode"),
        (#""egress_ports": [443]"#, "egress_ports"),
    ])
    func badFieldsAreNamed(_ members: String, _ field: String) {
        #expect { try Self.decode(members) } throws: { ($0 as? SpecError)?.field == field }
    }

    @Test func explicitModeSetsTheProxyVariablesUnlessTheSpecDoes() throws {
        let spec = try Self.decode(#""egress_names": ["a.example.com"], "egress_mode": "explicit", "env": {"http_proxy": "mine"}"#)
        let environment = try #require(spec.l7).proxyEnvironment(over: spec.environment)
        #expect(environment["HTTPS_PROXY"] == "http://127.0.0.1:15001")
        #expect(environment["https_proxy"] == "http://127.0.0.1:15001")
        #expect(environment["http_proxy"] == "mine")
        let transparent = try #require(try Self.decode(#""egress_names": ["a.example.com"], "egress_mode": "transparent""#).l7)
        #expect(transparent.proxyEnvironment(over: [:]).isEmpty)
    }

    @Test func theSummaryListsL7Decisions() {
        let line = #"{"type":"dev.cellos.events.cell.observability.v1.l7_egress_decision","data":{"name":"a.example.com","port":443,"mode":"transparent","protocol":"tls","decision":"allow","reason":"allowed","upstream":"192.0.2.1:443"}}"#
        #expect(EventSummary.render(lines: [Substring(line)]).contains("Name-based egress (L7):\n  a.example.com:443 transparent tls: allow (allowed) -> 192.0.2.1:443"))
    }
}

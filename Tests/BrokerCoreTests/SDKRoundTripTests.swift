@testable import BrokerCore
import CellosTestLab
import Foundation
import Glibc
import Testing

/// Signed events re-serialized by the CloudEvents Python SDK (`cloudevents` from
/// PyPI, installed by `scripts/deps.sh test`) still verify; a flipped byte in
/// what the SDK wrote still fails.
@Suite struct SDKRoundTripTests {
    @Test func eventsReserializedByTheCloudEventsSDKVerify() throws {
        let key = Ed25519.PrivateKey()
        let signer = EventSigner(privateKey: key)
        let verifier = EventVerifier(publicKey: key.publicKey)
        // A whole second: the SDK writes `...03Z` for `...03.000000Z`.
        let stamper = EventStamper(cellID: "c1", host: "host.test", clock: { timespec(tv_sec: 1_764_640_923, tv_nsec: 0) })
        let dns = try JSONParser.parse(#"{"type":"dns_query","time":"2025-12-02T02:02:02.120000Z","cell_id":"c1","qname":"caf\u00e9.test","ratio":1.50,"latency":312,"detail":"tab\there \"q\" /"}"#)
        let events = [
            try signer.sign(stamper.event(.started, data: .object(["argv": .array([.string("/bin/true")]), "n": .number("1.0")]))),
            try signer.sign(stamper.event(.dnsQuery, from: "cellos-dnsproxy", time: "2025-12-02T02:02:02.120000Z", data: dns)),
        ]
        let input = events.map(\.line).joined(separator: "\n") + "\n"
        let result = try TestPython.run("cloudevents_roundtrip.py", [], input: input)
        try #require(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        // The SDK did change the text (else this test would prove nothing).
        #expect(lines[0].contains(#""time": "2025-12-02T02:02:03Z""#), "\(lines[0])")
        #expect(lines[1].contains(#""time": "2025-12-02T02:02:02.120000Z""#) || lines[1].contains("02:02:02.12"), "\(lines[1])")
        #expect(!events.map(\.line).contains(lines[0]))
        for line in lines {
            #expect(verifier.verify(line: Array(line.utf8)).failure == nil, "\(line)")
        }
        #expect(EventFileVerification.check(Array(result.stdout.utf8), with: verifier) == .verified(events: 2))

        // One flipped byte inside the SDK's output still fails.
        var tampered = Array(lines[1].utf8)
        let offset = try #require(lines[1].range(of: "312").map { lines[1].utf8.distance(from: lines[1].utf8.startIndex, to: $0.lowerBound) })
        tampered[offset] ^= 0x01
        #expect(verifier.verify(line: tampered).failure == "signature does not match the event")
    }
}

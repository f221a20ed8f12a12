@testable import BrokerCore
import CellosTestLab
import Foundation
import Glibc
import Testing

/// The built `cellos-broker` executable: keygen → stamp --sign-key → verify, a
/// tampered file failing with the line and event named, and spec errors.
@Suite struct BrokerCommandLineTests {
    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        return directory
    }

    @Test func keygenStampVerifyAndTamper() throws {
        let broker = try BuiltProducts.path(of: "cellos-broker")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = directory.appendingPathComponent("key").path
        let keygen = try Shell.run([broker, "keygen", "--out", key])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        #expect(keygen.stdout.contains("key id "))

        let helperLines = """
            {"type":"dns_query","time":"2026-11-25T16:00:00.123456Z","cell_id":"c1","transport":"udp","client":"127.0.0.1:40000","qname":"allowed.test","qtype":"A","decision":"allow","reason":"allowed","rcode":"NOERROR","upstream_latency_us":312}
            {"type":"dns_query","time":"2026-11-25T16:00:00.223456Z","cell_id":"c1","transport":"udp","client":"127.0.0.1:40001","qname":"denied.test","qtype":"A","decision":"deny","reason":"denied_name","rcode":"REFUSED","upstream_latency_us":null}
            {"type":"dnsproxy_stats","time":"2026-11-25T16:00:01.000000Z","cell_id":"c1","queries_total":2,"allowed":1,"denied":1}

            """
        let input = directory.appendingPathComponent("dnsproxy.jsonl").path
        try helperLines.write(toFile: input, atomically: true, encoding: .utf8)
        let events = directory.appendingPathComponent("events.jsonl").path
        let stamp = try Shell.run([broker, "stamp", "--helper", "cellos-dnsproxy", "--cell-id", "c1", "--sign-key", key, "--events", events, input])
        #expect(stamp.status == 0, "\(stamp.stderr)")

        let verify = try Shell.run([broker, "verify", "--key", key + ".pub", events])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout == "\(events): verified 3 events\n")

        // Tamper with the second event's decision.
        var lines = try String(contentsOfFile: events, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        let secondID = try #require(try JSONParser.parse(lines[1]).objectValue?["id"]?.stringValue)
        lines[1] = lines[1].replacingOccurrences(of: "\"deny\"", with: "\"allow\"")
        try (lines.joined(separator: "\n") + "\n").write(toFile: events, atomically: true, encoding: .utf8)
        let tampered = try Shell.run([broker, "verify", "--key", key + ".pub", events])
        #expect(tampered.status == 1)
        #expect(tampered.stderr == "\(events): line 2, event \(secondID): signature does not match the event\n")

        // Another key's public half is refused by key id.
        let other = directory.appendingPathComponent("other").path
        _ = try Shell.run([broker, "keygen", "--out", other])
        let wrongKey = try Shell.run([broker, "verify", "--key", other + ".pub", events])
        #expect(wrongKey.status == 1)
        #expect(wrongKey.stderr.contains("line 1, event "))
        #expect(wrongKey.stderr.contains("not by the given key"))
    }

    @Test func specErrorsExitWithTheSetupCodeAndNameTheField() throws {
        let broker = try BuiltProducts.path(of: "cellos-broker")
        let bad = try Shell.run([broker, "spec", "-"], input: #"{"version": 1, "argv": ["x"], "egress": [{"protocol": "tcp", "address": "10.0.0.1"}, {"protocol": "tcp", "address": "10.0.0.1", "port": 70000}]}"#)
        #expect(bad.status == BrokerExitCode.setupFailure)
        #expect(bad.stderr == "cellos-broker: egress[1].port: 70000 is not a port (1-65535)\n")

        let flags = try Shell.run([broker, "run", "--dry-run", "--allow-name", "*.example.com", "--allow-egress", "tcp:10.1.2.3:443", "--timeout", "30s", "--", "sh", "-c", "echo hi"])
        #expect(flags.status == 0, "\(flags.stderr)")
        let spec = try CellSpecDecoder.decode(Array(flags.stdout.utf8))
        #expect(spec.argv == ["sh", "-c", "echo hi"] && spec.timeout.milliseconds == 30_000)
        #expect(spec.dns.allow.map(\.description) == ["*.example.com"] && spec.egress.map(\.description) == ["tcp:10.1.2.3:443"])

        let publicKeyAsSigningKey = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: publicKeyAsSigningKey) }
        let key = publicKeyAsSigningKey.appendingPathComponent("k").path
        _ = try Shell.run([broker, "keygen", "--out", key])
        let wrongKey = try Shell.run([broker, "run", "--dry-run", "--sign-key", key + ".pub", "--", "/bin/true"])
        #expect(wrongKey.status == BrokerExitCode.setupFailure)
        #expect(wrongKey.stderr == "cellos-broker: --sign-key: key file \(key).pub: holds a key of the other kind (ed25519-public:…), expected ed25519-private:…\n")
        let missing = try Shell.run([broker, "spec", "/nonexistent/spec.json"])
        #expect(missing.status == BrokerExitCode.setupFailure)
        #expect(missing.stderr.contains("/nonexistent/spec.json"))

        let demo = try Shell.run([broker, "spec"])
        #expect(try CellSpecDecoder.decode(Array(demo.stdout.utf8)) == DemoSpec.spec())
    }
}

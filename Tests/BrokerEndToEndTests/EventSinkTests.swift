import CellosTestLab
import Foundation
import Glibc
import Testing

/// A real cell's trail into NATS JetStream (`--sink nats://…`) next to the file
/// sink: the server stops mid-cell and comes back after the cell ended; `flush`
/// delivers the rest; an independent client (nats-py) finds every event of the
/// file once, in order, and `verify` accepts what JetStream holds. The file's
/// times follow the order things happened (DNS before `completed`).
@Suite(.serialized) struct EventSinkTests {
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aCellsTrailSurvivesANATSOutageAndSortsByTime() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let nats = try NATSTestServer(namespace: cell.host.path)
            let inHost = ["ip", "netns", "exec", cell.host.name]
            let created = try TestPython.run("jetstream.py", [nats.url, "create", "CELLOS", "cellos.events.>"], prefix: inHost)
            try #require(created.succeeded, "\(created.stderr)")
            let broker = try BuiltProducts.path(of: "cellos-broker")
            let key = cell.directory + "/sign"
            try #require(try Shell.run([broker, "keygen", "--out", key]).succeeded)
            // The broker drops privileges before it spools.
            let spool = cell.directory + "/spool"
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
            let sink = "\(nats.url)/cellos.events"

            // DNS at once, then a pause long enough for the outage, then DNS again.
            let script = "getent hosts allowed.cellos.test; sleep 3; getent hosts denied.cellos.test; echo done"
            let outage = DispatchSemaphore(value: 0)
            DispatchQueue.global().asyncAfter(deadline: .now() + 1.5) {
                nats.stop()
                outage.signal()
            }
            let run = try cell.broker([
                "--spec", try cell.specFile(id: "e2e-nats", argv: ["/bin/bash", "-c", script]), "--sign-key", key,
                "--sink", sink, "--spool-dir", spool,
            ])
            outage.wait()
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(run.result.stderr.contains("events spool to \(spool)"), "\(run.result.stderr)")

            try nats.start()
            let flush = try cell.lab.run(in: cell.host, [broker, "flush", "--sink", sink, "--spool-dir", spool])
            #expect(flush.status == 0, "\(flush.stdout)\(flush.stderr)")

            let host = String(try Shell.check(["hostname"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines).map { $0 == "." ? "_" : $0 })
            let read = try TestPython.run("jetstream.py", [nats.url, "read", "CELLOS", "cellos.events.\(host).e2e-nats"], prefix: inHost)
            try #require(read.succeeded, "\(read.stderr)")
            let received = read.stdout.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 2).map(String.init) }
            let fileIDs = run.events.compactMap { $0["id"] as? String }
            #expect(fileIDs.count >= 10)
            #expect(received.map { $0[1] } == fileIDs, "every event once, in the file's order")
            #expect(received.map { $0[2] }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.compactMap { $0["id"] as? String } == fileIDs)
            let verify = try cell.lab.run(in: cell.host, [broker, "verify", "--key", key + ".pub", "\(nats.url)/cellos.events.*.e2e-nats"])
            #expect(verify.status == 0 && verify.stdout.contains("verified \(fileIDs.count) events"), "\(verify.stdout)\(verify.stderr)")

            // Time order matches what happened: both queries before completed, completed before destroyed.
            func times(_ suffix: String) -> [String] { run.events(ofType: suffix).compactMap { $0["time"] as? String } }
            let completed = try #require(times(".completed").first)
            let queries = times(".dns_query")
            #expect(queries.count >= 2, "\(run.events)")
            #expect(queries.allSatisfy { $0 < completed }, "\(queries) vs completed \(completed)")
            #expect(completed < (times(".destroyed").first ?? ""))
            #expect(run.events.allSatisfy { ($0["source"] as? String)?.hasPrefix("urn:cellos:") == true })
        }
    }
}

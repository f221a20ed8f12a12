#if canImport(Glibc)
import Glibc
#endif
import CellosTestLab
import Foundation
import Testing

/// Secrets end to end through the real broker and netnsd: a workload gets them
/// from a file, a credential directory and the broker's environment, as variables
/// and as files, and only the workload ever holds a value (docs/security.md, "Secrets").
@Suite(.serialized) struct SecretTests {
    static func sha256(_ text: String) throws -> String {
        String(try Shell.check(["sha256sum"], input: text).stdout.prefix(64))
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// A file only root may read: the broker reads it before it drops privileges.
    static func writePrivate(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, 0o600) == 0)
    }

    /// The broker in the host namespace, in the background, with `environment` added
    /// to its own; stdout and stderr to OUT.stdout and OUT.stderr.
    static func startBroker(_ cell: CellLab, _ arguments: [String], environment: [String], output: String) throws -> Process {
        try Shell.start(environment + [
            "/bin/sh", "-c", "out=$1; shift; exec \"$@\" >\"$out.stdout\" 2>\"$out.stderr\"", "sh", output,
            "ip", "netns", "exec", cell.host.name, try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", cell.socket,
        ] + arguments)
    }

    /// The data of the first event of type `suffix` in the events file `path`.
    static func data(_ path: String, _ suffix: String) throws -> [String: Any]? {
        try CellLab.readEvents(path).first { ($0["type"] as? String)?.hasSuffix(suffix) == true }?["data"] as? [String: Any]
    }

    static func pid(_ pattern: String) -> Int32? {
        (try? Shell.run(["pgrep", "-f", pattern]))?.stdout.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// /proc/PID/cmdline and environ, NULs as spaces (root reads them although the broker and helpers are non-dumpable).
    static func commandAndEnvironment(_ pid: Int32) -> String {
        ["cmdline", "environ"].map { file in
            String(decoding: (FileManager.default.contents(atPath: "/proc/\(pid)/\(file)") ?? Data()).map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        }.joined(separator: "\n")
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func secretsReachOnlyTheWorkload() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(netnsdLog: true) { cell in
            let fileValue = "file-secret-\(UUID().uuidString)"
            let credentialValue = "credential-secret-\(UUID().uuidString)"
            let environmentValue = "environment-secret-\(UUID().uuidString)"
            let values = [fileValue, credentialValue, environmentValue]
            try Self.writePrivate(fileValue, to: "\(cell.directory)/token")
            try FileManager.default.createDirectory(atPath: "\(cell.directory)/credentials", withIntermediateDirectories: true)
            try Self.writePrivate(credentialValue, to: "\(cell.directory)/credentials/api")
            let secrets = """
                "secrets": [
                 {"name": "FILE_TOKEN", "from": "file:\(cell.directory)/token", "as": "env"},
                 {"name": "token", "from": "file:\(cell.directory)/token", "as": "file"},
                 {"name": "api", "from": "credential:api"},
                 {"name": "ENV_TOKEN", "from": "env:CELLOS_E2E_SECRET", "as": "env"},
                 {"name": "env.token", "from": "env:CELLOS_E2E_SECRET"}]
                """
            // Hashes, the files' modes and owner, then time for the test to look at the helpers.
            let script = """
                printf %s "$FILE_TOKEN" | sha256sum; sha256sum < /run/secrets/token; sha256sum < /run/secrets/api
                printf %s "$ENV_TOKEN" | sha256sum; sha256sum < /run/secrets/env.token
                stat -c '%a %u' /run/secrets/token /run/secrets/api /run/secrets/env.token; id -u; echo listed; sleep 3
                """
            let spec = try cell.specFile(id: "secrets-e2e", argv: ["/bin/sh", "-c", script], extra: secrets)
            let events = "\(cell.directory)/secrets.jsonl"
            let output = "\(cell.directory)/secrets-broker"
            let broker = try Self.startBroker(
                cell, ["--spec", spec, "--events", events],
                environment: ["CREDENTIALS_DIRECTORY=\(cell.directory)/credentials", "CELLOS_E2E_SECRET=\(environmentValue)"], output: output)
            defer {
                kill(broker.processIdentifier, SIGTERM)
                broker.waitUntilExit()
            }
            #expect(ProcessState.within(15_000) { Self.text("\(output).stdout").contains("listed\n") }, "\(Self.text("\(output).stderr"))")
            // While the workload runs: the broker's and its helpers' command lines and environments.
            let brokerPID = try #require(Self.pid("cellos-broker run .*secrets-e2e.json"))
            let helpers = try ["cellos-dnsproxy .*--cell-id secrets-e2e", "cellos-flowlog .*--cell-id secrets-e2e"].map { pattern in
                try #require(Self.pid(pattern), "no helper \(pattern)")
            }
            for helper in helpers {
                #expect(ProcessState.children(of: brokerPID).contains(helper))
                let seen = Self.commandAndEnvironment(helper)
                #expect(!seen.isEmpty)
                for value in values { #expect(!seen.contains(value), "helper \(helper) holds a secret value") }
            }
            let brokerCommandLine = String(Self.commandAndEnvironment(brokerPID).split(separator: "\n").first ?? "")
            #expect(brokerCommandLine.contains("secrets-e2e.json"))
            for value in values { #expect(!brokerCommandLine.contains(value)) }
            // Its environment holds what the operator put there, nothing it read.
            let brokerEnvironment = Self.commandAndEnvironment(brokerPID)
            #expect(brokerEnvironment.contains(environmentValue) && !brokerEnvironment.contains(fileValue) && !brokerEnvironment.contains(credentialValue))
            broker.waitUntilExit()
            #expect(broker.terminationStatus == 0, "\(Self.text("\(output).stderr"))")

            let lines = Self.text("\(output).stdout").split(separator: "\n").map(String.init)
            let hashes = lines.prefix(5).map { String($0.prefix(64)) }
            #expect(hashes == [fileValue, fileValue, credentialValue, environmentValue, environmentValue].map { try! Self.sha256($0) }, "\(lines)")
            let confined = try #require(try Self.data(events, "lifecycle.v1.confined"))
            let uid = try #require(confined["uid"] as? Int)
            #expect(Array(lines.dropFirst(5).prefix(4)) == ["400 \(uid)", "400 \(uid)", "400 \(uid)", "\(uid)"], "\(lines)")

            // No value in the event log, the broker's or netnsd's stderr, `spec` or --dry-run.
            let trail = Self.text(events)
            #expect(trail.contains("lifecycle.v1.destroyed"))
            let started = try #require(try Self.data(events, "lifecycle.v1.started"))
            let listed = (started["secrets"] as? [[String: String]]) ?? []
            #expect(listed.map { $0["name"] ?? "" } == ["FILE_TOKEN", "token", "api", "ENV_TOKEN", "env.token"])
            #expect(listed.map { "\($0["from"] ?? "")/\($0["as"] ?? "")" } == ["file/env", "file/file", "credential/file", "env/env", "env/file"])
            let specOutput = try Shell.run([try BuiltProducts.path(of: "cellos-broker"), "spec", spec])
            #expect(specOutput.status == 0 && specOutput.stdout.contains("credential:api"), "\(specOutput.stderr)")
            let dryRun = try Shell.run(
                ["env", "CREDENTIALS_DIRECTORY=\(cell.directory)/credentials", "CELLOS_E2E_SECRET=\(environmentValue)",
                 try BuiltProducts.path(of: "cellos-broker"), "run", "--dry-run", "--spec", spec])
            #expect(dryRun.status == 0 && dryRun.stdout.contains("\"secrets\""), "\(dryRun.stderr)")
            let netnsdLog = Self.text(cell.netnsdLog)
            #expect(!netnsdLog.isEmpty, "netnsd's stderr was not captured")
            for value in values {
                for (place, text) in [("events", trail), ("broker stderr", Self.text("\(output).stderr")), ("netnsd stderr", netnsdLog),
                                      ("spec", specOutput.stdout + specOutput.stderr), ("dry-run", dryRun.stdout + dryRun.stderr)] {
                    #expect(!text.contains(value), "\(place) holds a secret value")
                }
            }
        }
    }

    /// A source that is missing or unreadable refuses the cell before anything is
    /// created (no events file, no cell), naming the secret and its source.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func missingSourcesAreRefusedNamingTheSecret() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(cgroups: false) { cell in
            for (entry, message) in [
                (#"{"name": "gone", "from": "file:/nonexistent/cellos-secret"}"#,
                 #"secrets[0].from: "file:/nonexistent/cellos-secret" (secret 'gone') cannot be read: No such file or directory"#),
                (#"{"name": "api", "from": "credential:api"}"#,
                 #"secrets[0].from: "credential:api" (secret 'api') cannot be read: $CREDENTIALS_DIRECTORY is not set (systemd sets it for LoadCredential=)"#),
                (#"{"name": "TOKEN", "from": "env:CELLOS_E2E_UNSET", "as": "env"}"#,
                 #"secrets[0].from: "env:CELLOS_E2E_UNSET" (secret 'TOKEN') cannot be read: the broker's environment has no CELLOS_E2E_UNSET"#),
            ] {
                let id = "missing-\(UInt16.random(in: 0...UInt16.max))"
                let spec = try cell.specFile(id: id, argv: ["/bin/true"], extra: #""secrets": [\#(entry)]"#)
                let events = "\(cell.directory)/\(id).jsonl"
                let run = try cell.lab.run(in: cell.host, [
                    "env", "-u", "CREDENTIALS_DIRECTORY", try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", cell.socket,
                    "--spec", spec, "--events", events,
                ])
                #expect(run.status == 125, "\(run.stdout)\(run.stderr)")
                #expect(run.stderr == "cellos-broker: \(message)\n")
                #expect(!FileManager.default.fileExists(atPath: events), "the events file was created")
            }
        }
    }

    /// Another cell running at the same time cannot read the secret file: it is in
    /// the first workload's private /run, 0400 and that workload's uid. The second
    /// cell (sharing the host's PID namespace, so the path exists for it) tries
    /// /proc/PID/root and its own /run/secrets; a third asks for the holder's
    /// secrets as a mount.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func secretFileIsNotReadableByAnotherCell() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let value = "other-cell-secret-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: "\(cell.directory)/credentials", withIntermediateDirectories: true)
            try Self.writePrivate(value, to: "\(cell.directory)/credentials/api")
            let holderSpec = try cell.specFile(
                id: "secret-holder", argv: ["/bin/sh", "-c", "test -s /run/secrets/api && echo holding; sleep 20"], timeout: "40s",
                extra: #""secrets": [{"name": "api", "from": "credential:api"}]"#)
            let holderEvents = "\(cell.directory)/holder.jsonl"
            let output = "\(cell.directory)/holder"
            let holder = try Self.startBroker(
                cell, ["--spec", holderSpec, "--events", holderEvents], environment: ["CREDENTIALS_DIRECTORY=\(cell.directory)/credentials"], output: output)
            defer {
                kill(holder.processIdentifier, SIGTERM)
                holder.waitUntilExit()
            }
            #expect(ProcessState.within(15_000) { Self.text("\(output).stdout").contains("holding") }, "\(Self.text("\(output).stderr"))")
            let confined = try #require(try Self.data(holderEvents, "lifecycle.v1.confined"))
            let pid = try #require(confined["pid"] as? Int)
            let uid = try #require(confined["uid"] as? Int)
            // Seen from the host (root): the file is the holder's alone.
            let modes = try Shell.check(["stat", "-c", "%a %u", "/proc/\(pid)/root/run/secrets/api", "/proc/\(pid)/root/run/secrets"]).stdout
            #expect(modes == "400 \(uid)\n700 \(uid)\n")

            let probe = """
                cat /proc/\(pid)/root/run/secrets/api; echo "proc-root=$?"
                cat /proc/\(pid)/root/run/secrets/../secrets/api; echo "again=$?"
                cat /run/secrets/api; echo "own=$?"
                """
            let otherSpec = try cell.specFile(id: "secret-other", argv: ["/bin/sh", "-c", probe], extra: #""pid_namespace": false"#)
            let other = try cell.broker(["--spec", otherSpec])
            #expect(other.result.status == 0, "\(other.result.stderr)")
            #expect(!other.result.stdout.contains(value) && !other.result.stderr.contains(value))
            #expect(other.result.stdout.contains("proc-root=1\n") && other.result.stdout.contains("again=1\n") && other.result.stdout.contains("own=1\n"), "\(other.result.stdout)")
            let otherUID = try #require(other.data(ofType: "lifecycle.v1.confined").first?["uid"] as? Int)
            #expect(otherUID != uid)
            // Nor through its spec: a mount of the holder's secrets is refused by
            // netnsd, which holds no CAP_SYS_PTRACE to pass /proc/PID/root's access check.
            let mountSpec = try cell.specFile(
                id: "secret-mount", argv: ["/bin/cat", "/stolen/api"], extra: #""mounts": [{"source": "/proc/\#(pid)/root/run/secrets", "target": "/stolen"}]"#)
            let mounted = try cell.broker(["--spec", mountSpec])
            #expect(mounted.result.status == 125, "\(mounted.result.stdout)\(mounted.result.stderr)")
            #expect(mounted.result.stderr.contains("cell secret-mount: mounts[0].source") && mounted.result.stderr.contains("Permission denied"), "\(mounted.result.stderr)")
            #expect(!mounted.result.stdout.contains(value) && !mounted.result.stderr.contains(value))
        }
    }
}

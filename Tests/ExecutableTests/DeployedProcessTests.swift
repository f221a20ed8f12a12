import CellosTestLab
import Foundation
import IPCWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The installed executables as systemd (or an operator) runs them: netnsd
/// socket-activated with Type=notify, names for ids, journald lines, helpers
/// started as root that end up holding nothing.
@Suite(.serialized) struct DeploymentProcesses {
    /// netnsd from the staged tree under systemd-socket-activate, NOTIFY_SOCKET a
    /// datagram socket of the test: READY=1 arrives, a cell runs through the
    /// activated socket, and the socket file outlives the daemon.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func socketActivatedNetnsdNotifiesAndServes() throws {
        try PrivilegedTest.requireRoot()
        try withStagedInstall { staged in
            try FileManager.default.createDirectory(atPath: staged.path("/run"), withIntermediateDirectories: true)
            let socketPath = staged.path("/run/netnsd.sock")
            let notify = try NotifySocket(path: staged.path("/run/notify.sock"))
            let netnsd = staged.path("/usr/local/libexec/cellos/cellos-netnsd")
            let activator = try SpawnedCommand([
                "systemd-socket-activate", "--seqpacket", "-l", socketPath, "--fdname=control", "-E", "NOTIFY_SOCKET=\(notify.path)",
                netnsd, "--allow-uid", "0",
            ])
            defer { activator.stop() }
            #expect(waitFor { FileManager.default.fileExists(atPath: socketPath) })
            // systemd-socket-activate starts netnsd at the first connection.
            let run = try Shell.run([netnsd, "ctl", "run", "--socket", socketPath, "--id", "deploy1", "--uid", "65534", "--gid", "65534", "--", "/bin/true"])
            #expect(run.succeeded, "ctl run: \(run.stderr)")
            let messages = notify.receive(timeoutMilliseconds: 5000)
            #expect(messages.contains { $0.split(separator: "\n").contains("READY=1") }, "notifications: \(messages)")
            #expect(messages.contains { $0.contains("STATUS=capabilities reduced to") }, "notifications: \(messages)")
            #expect(activator.stop() == 0)
            #expect(FileManager.default.fileExists(atPath: socketPath), "the activated socket file was removed")
        }
    }

    /// `--cgroup-root delegated` (the unit's default): started in a cgroup standing
    /// in for the unit's delegated one, netnsd moves into its leaf `netnsd` and
    /// runs a workload with a pids limit in a leaf beside it.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func delegatedCgroupRootIsTheDaemonsOwn() throws {
        try PrivilegedTest.requireRoot()
        let mountinfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let mount = try #require(mountinfo.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), fields.count > dash + 1, fields[dash + 1] == "cgroup2" else { return nil }
            return String(fields[4])
        }.first, "no cgroup2 mount")
        let name = "cellos-deploy-\(UUID().uuidString.prefix(8)).service"
        let unit = "\(mount)/\(name)"
        try FileManager.default.createDirectory(atPath: unit, withIntermediateDirectories: false)
        defer {
            _ = rmdir("\(unit)/netnsd")
            _ = rmdir(unit)
        }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socketPath = directory.path + "/netnsd.sock"
        let netnsd = try BuiltProducts.path(of: "cellos-netnsd")
        let daemon = try SpawnedCommand([
            "sh", "-c", "echo $$ > \(unit)/cgroup.procs && exec \"$@\"", "sh", netnsd, "--socket", socketPath, "--allow-uid", "0", "--cgroup-root", "delegated",
        ])
        #expect(waitFor { FileManager.default.fileExists(atPath: socketPath) }, "netnsd did not start")
        let membership = try String(contentsOfFile: "/proc/\(daemon.pid)/cgroup", encoding: .utf8)
        #expect(membership.split(separator: "\n").contains { $0.hasPrefix("0::") && $0.hasSuffix("/\(name)/netnsd") }, "\(membership)")
        // While the workload sleeps, its leaf is a cell-… directory beside netnsd's.
        let client = try SpawnedCommand([
            netnsd, "ctl", "run", "--socket", socketPath, "--id", "delegated", "--uid", "65534", "--gid", "65534", "--pids-max", "16", "--",
            "/bin/sleep", "2",
        ])
        #expect(waitFor(seconds: 2) {
            ((try? FileManager.default.contentsOfDirectory(atPath: unit)) ?? []).contains { $0.hasPrefix("cell-delegated-") }
        }, "no workload leaf in the delegated directory")
        #expect(client.wait() == 0)
        #expect(daemon.stop() == 0)
    }

    /// `--allow-gid cellos` resolves the name: a peer whose gid is cellos's gets in.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func allowGIDTakesAGroupName() throws {
        try PrivilegedTest.requireRoot()
        let created = try TemporaryGroup.ensure("cellos")
        defer { created?.remove() }
        let gid = try #require(Self.gid(of: "cellos"))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let socketPath = directory.path + "/netnsd.sock"
        let netnsd = try BuiltProducts.path(of: "cellos-netnsd")
        let daemon = try Shell.start([netnsd, "--socket", socketPath, "--allow-gid", "cellos"])
        defer { daemon.terminate(); daemon.waitUntilExit() }
        #expect(waitFor { FileManager.default.fileExists(atPath: socketPath) })
        try Shell.check(["chgrp", "cellos", socketPath])
        let admitted = try Shell.run([
            // A peer uid other than the workload's: netnsd refuses a workload as its own client.
            "setpriv", "--reuid=65533", "--regid=\(gid)", "--clear-groups", netnsd, "ctl", "run", "--socket", socketPath, "--id", "named",
            "--uid", "65534", "--gid", "65534", "--", "/bin/true",
        ])
        #expect(admitted.succeeded, "a peer with gid cellos was not admitted: \(admitted.stderr)")

        let unknown = try Shell.run([netnsd, "--socket", socketPath + ".2", "--allow-gid", "no-such-group-cellos"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("--allow-gid") && unknown.stderr.contains("no group 'no-such-group-cellos'"), "\(unknown.stderr)")
    }

    /// With JOURNAL_STREAM naming stderr, lines carry `<N>` and no program name.
    @Test func journaldLinesCarryPriorities() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let netnsd = try BuiltProducts.path(of: "cellos-netnsd")
        let broker = try BuiltProducts.path(of: "cellos-broker")
        let missing = directory.path + "/missing/netnsd.sock"
        func stderrLines(_ command: [String], journal: Bool) throws -> [String] {
            let log = directory.path + "/stderr"
            let stream = journal ? "export JOURNAL_STREAM=$(stat -c %d:%i \(log)); " : ""
            _ = try Shell.run(["sh", "-c", ": > \(log); exec 2>>\(log); \(stream)exec \"$@\"", "sh"] + command)
            return try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        let daemon = [netnsd, "--socket", missing, "--allow-uid", "0"]
        let plain = try stderrLines(daemon, journal: false)
        #expect(plain.contains { $0.hasPrefix("cellos-netnsd: ") }, "\(plain)")
        let journal = try stderrLines(daemon, journal: true)
        #expect(!journal.isEmpty && journal.allSatisfy { $0.range(of: "^<[3467]>", options: .regularExpression) != nil }, "\(journal)")
        #expect(journal.contains { $0.hasPrefix("<3>") } && !journal.contains { $0.contains("cellos-netnsd: ") }, "\(journal)")
        let brokerLines = try stderrLines([broker, "run", "--netnsd-socket", missing, "--", "/bin/true"], journal: true)
        #expect(brokerLines.contains { $0.hasPrefix("<3>--netnsd-socket") }, "\(brokerLines)")
        // --log-format decides whatever the environment says.
        let forced = try stderrLines([try BuiltProducts.path(of: "cellos-dnsproxy"), "--log-format", "journal"], journal: false)
        #expect(forced.contains { $0.hasPrefix("<3>nothing to serve") }, "\(forced)")
        let plainAnyway = try stderrLines(daemon + ["--log-format", "plain"], journal: true)
        #expect(plainAnyway.contains { $0.hasPrefix("cellos-netnsd: ") } && !plainAnyway.contains { $0.hasPrefix("<") }, "\(plainAnyway)")
    }

    /// `cellos-dnsproxy --listen` started as root serves, as a user with no capability.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func rootStartedDNSProxyServesWithoutPrivilege() throws {
        try PrivilegedTest.requireRoot()
        let port = try Self.freePort()
        let proxy = try Shell.start([
            try BuiltProducts.path(of: "cellos-dnsproxy"), "--listen", "127.0.0.1:\(port)", "--upstream", "127.0.0.1:9", "--allow", "a.test",
        ])
        defer { proxy.terminate(); proxy.waitUntilExit() }
        #expect(waitFor {
            (try? Shell.run(["kdig", "@127.0.0.1", "-p", String(port), "+timeout=1", "+retry=0", "b.test"]))?.stdout.contains("status: REFUSED") == true
        })
        try Self.expectUnprivileged(pid: proxy.processIdentifier)
    }

    /// `cellos-flowlog --group N` started as root binds the group, then holds nothing.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func rootStartedFlowlogListensWithoutPrivilege() throws {
        try PrivilegedTest.requireRoot()
        var process = try ActivatedSpawn.spawn(
            executable: try BuiltProducts.path(of: "cellos-flowlog"), arguments: ["--group", String(40000 + getpid() % 20000), "--events", "/dev/null"],
            environment: ProcessInfo.processInfo.environment, names: [], descriptors: DescriptorSet())
        let pid = process.pid
        defer {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try process.waitUntilReady(timeoutMilliseconds: 5000)
        try Self.expectUnprivileged(pid: pid)
    }

    static func expectUnprivileged(pid: Int32) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) -> String? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(field(set) == "0000000000000000", "\(set) is \(field(set) ?? "missing")")
        }
        #expect(field("NoNewPrivs") == "1")
        let uids = field("Uid")?.split(whereSeparator: { $0 == "\t" || $0 == " " }) ?? []
        #expect(uids.count == 4 && !uids.contains("0"), "uids \(uids)")
    }

    static func gid(of group: String) -> UInt32? {
        guard let line = try? Shell.run(["getent", "group", group]).stdout, let field = line.split(separator: ":").dropFirst(2).first else { return nil }
        return UInt32(field)
    }

    /// A UDP port nobody uses right now (and TCP, since the proxy binds both).
    static func freePort() throws -> UInt16 {
        for _ in 0..<20 {
            let port = UInt16.random(in: 20000...60000)
            if try Shell.run(["ss", "-Hlnut", "sport = :\(port)"]).stdout.isEmpty { return port }
        }
        throw CommandFailedToFindPort()
    }

    struct CommandFailedToFindPort: Error {}
}

/// Polls `condition` every 50 ms for up to `seconds`.
func waitFor(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}

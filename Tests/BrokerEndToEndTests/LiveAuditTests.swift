import CellosTestLab
import Foundation
import Testing

/// `cellos-broker audit` without `--pid`: netnsd, both brokers, their four
/// helpers and both workload trees are found through netnsd's status and /proc,
/// and pass; a planted over-privileged process posing as a helper fails it.
@Suite(.serialized) struct LiveAuditTests {
    static func pid(_ pattern: String) -> Int? {
        (try? Shell.run(["pgrep", "-f", pattern]))?.stdout.split(separator: "\n").first.flatMap { Int($0) }
    }

    static func entries(_ stdout: String) throws -> [[String: Any]] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "\(stdout)")
        return object["helpers"] as? [[String: Any]] ?? []
    }

    /// Its output goes to SPEC.log, for the failure messages.
    static func startBroker(_ cell: CellLab, spec: String) throws -> Process {
        try Shell.start([
            "/bin/sh", "-c", "exec \"$@\" >\(spec).log 2>&1", "sh",
            "ip", "netns", "exec", cell.host.name, try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", cell.socket, "--spec", spec,
        ])
    }

    static func log(_ spec: String) -> String { (try? String(contentsOfFile: "\(spec).log", encoding: .utf8)) ?? "" }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func auditFindsEverythingThatRunsWithoutPids() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(netnsdArguments: ["--admin-uid", "0"]) { cell in
            let broker = try BuiltProducts.path(of: "cellos-broker")
            // One workload forks (a shell with two sleeps), the other does not.
            let forkingSpec = try cell.specFile(id: "live-fork", argv: ["/bin/sh", "-c", "/bin/sleep 41.1 & /bin/sleep 41.2; wait"], timeout: "120s")
            let plainSpec = try cell.specFile(id: "live-plain", argv: ["/bin/sleep", "41.3"], timeout: "120s")
            let forking = try Self.startBroker(cell, spec: forkingSpec)
            let plain = try Self.startBroker(cell, spec: plainSpec)
            var planted: Process?
            let plantDirectory = "\(cell.directory)/planted"
            defer {
                // SIGKILL for the planted ctl: it inherits this process's blocked SIGTERM.
                if let planted { kill(planted.processIdentifier, SIGKILL) }
                for process in [forking, plain] + (planted.map { [$0] } ?? []) {
                    kill(process.processIdentifier, SIGTERM)
                    process.waitUntilExit()
                }
                if let helper = Self.pid("^\(plantDirectory)/cellos-dnsproxy 59.5$") { kill(pid_t(helper), SIGKILL) }
            }
            for pattern in ["^/bin/sleep 41.1$", "^/bin/sleep 41.2$", "^/bin/sleep 41.3$"] {
                for _ in 0..<300 {
                    if Self.pid(pattern) != nil { break }
                    usleep(50_000)
                }
            }
            let workloadPIDs = try ["^/bin/sh -c /bin/sleep 41.1", "^/bin/sleep 41.1$", "^/bin/sleep 41.2$", "^/bin/sleep 41.3$"].map {
                try #require(Self.pid($0), "no process \($0): \(Self.log(forkingSpec))\(Self.log(plainSpec))\((try? Shell.run(["ps", "-eo", "pid,ppid,uid,args"]))?.stdout ?? "")")
            }

            let audit = try Shell.run([broker, "audit", "--netnsd-socket", cell.socket, "--json"])
            #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
            let found = try Self.entries(audit.stdout)
            func named(_ name: String) -> [[String: Any]] { found.filter { $0["helper"] as? String == name } }
            #expect(named("cellos-netnsd").compactMap { $0["pid"] as? Int } == [Int(cell.netnsdPID)], "\(audit.stdout)")
            #expect(named("cellos-broker").count == 2, "\(audit.stdout)")
            #expect(named("cellos-dnsproxy").count == 2 && named("cellos-flowlog").count == 2, "\(audit.stdout)")
            let audited = Set(named("workload").compactMap { $0["pid"] as? Int })
            #expect(Set(workloadPIDs).isSubset(of: audited), "workloads \(workloadPIDs) not all in \(audit.stdout)")
            #expect(Set(named("workload").compactMap { $0["cell"] as? String }) == ["live-fork", "live-plain"], "\(audit.stdout)")
            // Every one was inspected, none by a note only.
            #expect(found.allSatisfy { $0["status_note"] == nil && ($0["failed"] as? Bool) == false }, "\(audit.stdout)")

            // A planted process: a cell owner named cellos-broker (netnsd's own ctl,
            // as root) with a child whose executable is named cellos-dnsproxy (a
            // copy of sleep, as root with every capability).
            try FileManager.default.createDirectory(atPath: plantDirectory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: try BuiltProducts.path(of: "cellos-netnsd"), toPath: "\(plantDirectory)/cellos-broker")
            try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: "\(plantDirectory)/cellos-dnsproxy")
            #expect(mkfifo("\(plantDirectory)/hold", 0o600) == 0)
            planted = try Shell.start([
                "/bin/sh", "-c",
                "\(plantDirectory)/cellos-dnsproxy 59.5 & exec 3<>\(plantDirectory)/hold; exec \(plantDirectory)/cellos-broker ctl create --socket \(cell.socket) --id live-planted <&3",
            ])
            for _ in 0..<100 {
                if try Shell.run([broker, "audit", "--netnsd-socket", cell.socket, "--json"]).stdout.contains("live-planted") { break }
                usleep(50_000)
            }
            let failing = try Shell.run([broker, "audit", "--netnsd-socket", cell.socket])
            #expect(failing.status == 1, "\(failing.stdout)\(failing.stderr)")
            let helper = try #require(Self.pid("^\(plantDirectory)/cellos-dnsproxy 59.5$"))
            #expect(failing.stdout.contains("cellos-dnsproxy (pid \(helper)) of cell live-planted: FAIL"), "\(failing.stdout)")
            #expect(failing.stdout.contains("EXCESS        effective: CAP_CHOWN"), "\(failing.stdout)")
            #expect(failing.stdout.contains("VIOLATION     no_new_privs is off"), "\(failing.stdout)")
        }
    }

    /// Without admin rights the report covers this connection's cells only (none): the audit says so.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func auditWithoutAdminSaysItSeesNoCells() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(cgroups: false) { cell in
            let audit = try Shell.run([try BuiltProducts.path(of: "cellos-broker"), "audit", "--netnsd-socket", cell.socket])
            #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
            #expect(audit.stdout.contains("cellos-netnsd (pid \(cell.netnsdPID)): ok"), "\(audit.stdout)")
            #expect(audit.stdout.contains("is not an admin of cellos-netnsd"), "\(audit.stdout)")
        }
    }
}

import CellosTestLab
import Foundation
import IPCWire
import Testing

/// `cellos-broker run` end to end through a real cellos-netnsd, cellos-dnsproxy and
/// cellos-flowlog, in the lab `CellLab` builds.
@Suite(.serialized) struct BrokerRunTests {
    /// One cell exercises the whole policy: glibc resolves the allowed name through
    /// the proxy (logged `allowed`) and is refused the denied one (`denied_name`,
    /// REFUSED); DNS straight to the internet's server over UDP and TCP is dropped
    /// (`drop dns` flow events); the allowed port connects, the other one does not
    /// (`drop default`); the counters of the `r1` and `dns` rules equal their flow events;
    /// and the workload's stdout is the broker's.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func policyIsEnforcedAndLogged() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let script = """
                getent hosts allowed.cellos.test; echo "allowed_name=$?"
                getent hosts denied.cellos.test; echo "denied_name=$?"
                kdig @192.0.2.53 +retry=0 +timeout=1 allowed.cellos.test 2>&1 | tail -3; echo "direct_udp=${PIPESTATUS[0]}"
                kdig @192.0.2.53 +tcp +retry=0 +timeout=1 allowed.cellos.test 2>&1 | tail -3; echo "direct_tcp=${PIPESTATUS[0]}"
                timeout 2 bash -c 'echo hi > /dev/tcp/192.0.2.80/8080' 2>/dev/null; echo "allowed_port=$?"
                timeout 2 bash -c 'echo hi > /dev/tcp/192.0.2.80/9090' 2>/dev/null; echo "denied_port=$?"
                """
            let run = try cell.broker(["--spec", try cell.specFile(id: "e2e-policy", argv: ["/bin/bash", "-c", script])])
            let out = run.result.stdout
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(out.contains("192.0.2.80") && out.contains("allowed.cellos.test"), "\(out)")
            #expect(out.contains("allowed_name=0\n"), "\(out)")
            #expect(out.contains("denied_name=2\n"), "\(out)")
            #expect(!out.contains("direct_udp=0\n") && !out.contains("direct_tcp=0\n"), "\(out)")
            #expect(dnsDropsSeen(run), "\(out)")
            #expect(out.contains("allowed_port=0\n"), "\(out)")
            #expect(!out.contains("denied_port=0\n"), "\(out)")

            let dns = run.data(ofType: ".dns_query")
            #expect(dns.contains { $0["qname"] as? String == "allowed.cellos.test" && $0["reason"] as? String == "allowed" && $0["qtype"] as? String == "A" })
            #expect(dns.contains { $0["qname"] as? String == "denied.cellos.test" && $0["reason"] as? String == "denied_name" && $0["rcode"] as? String == "REFUSED" })

            let flows = run.data(ofType: ".network_flow_decision")
            func matching(_ verdict: String, _ rule: String) -> [[String: Any]] {
                flows.filter { $0["verdict"] as? String == verdict && $0["rule"] as? String == rule }
            }
            let dnsDrops = matching("drop", "dns")
            #expect(dnsDrops.contains { $0["protocol"] as? String == "udp" && $0["dst"] as? String == "192.0.2.53" && "\($0["dport"] ?? "")" == "53" }, "\(flows)")
            #expect(dnsDrops.contains { $0["protocol"] as? String == "tcp" && $0["dst"] as? String == "192.0.2.53" && "\($0["dport"] ?? "")" == "53" }, "\(flows)")
            #expect(matching("accept", "r1").contains { $0["dst"] as? String == "192.0.2.80" && "\($0["dport"] ?? "")" == "8080" })
            #expect(matching("drop", "default").contains { $0["dst"] as? String == "192.0.2.80" && "\($0["dport"] ?? "")" == "9090" })

            // Counters agree with the flow log: every verdict is logged and counted once.
            let counters = Dictionary(run.data(ofType: ".nft_counter").map { ($0["rule"] as? String ?? "", "\($0["packets"] ?? "")") }, uniquingKeysWith: { a, _ in a })
            #expect(counters["r1"] == "\(matching("accept", "r1").count)", "\(counters)")
            #expect(counters["dns"] == "\(dnsDrops.count)", "\(counters)")
            // The uplink's own IPv6 chatter (MLD, router solicitations) also hits `default`, at
            // any moment, also after the flow log stopped: so at least as many drops as flow
            // events there, and both 9090 SYNs among them.
            #expect(Int(counters["default"] ?? "") ?? 0 >= matching("drop", "default").count, "\(counters)")
            #expect(run.data(ofType: ".destroyed").first?["reason"] as? String == "completed")
            #expect(run.data(ofType: ".completed").first?["exit_status"] as? Int == 0)
            // Both helpers' final stats are events: the proxy's through --stats-in-events
            // (not a line on the user's stderr), the flow log's as its last line.
            let stats = run.data(ofType: ".helper.v1.stats")
            let proxyStats = stats.first { $0["type"] as? String == "dnsproxy_stats" }
            #expect((proxyStats?["queries_total"] as? Int ?? 0) >= 2, "\(stats)")
            #expect((proxyStats?["denied_name"] as? Int ?? 0) >= 1, "\(stats)")
            #expect(stats.contains { $0["type"] as? String == "flowlog_stats" }, "\(stats)")
            #expect(!run.result.stderr.contains("dnsproxy_stats"), "\(run.result.stderr)")
        }
    }

    /// The workload's last packet is logged although the cell ends right after it:
    /// the kernel holds a partial NFLOG batch up to its flush timeout, and the flow
    /// log keeps reading that long after SIGTERM (before, this connection was lost).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aConnectionRightBeforeTheExitIsLogged() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            for attempt in 1...3 {
                let spec = try cell.specFile(id: "e2e-tail\(attempt)", argv: ["/bin/bash", "-c", "echo hi > /dev/tcp/192.0.2.80/8080"])
                let run = try cell.broker(["--spec", spec])
                #expect(run.result.status == 0, "\(run.result.stderr)")
                let accepted = run.data(ofType: ".network_flow_decision").filter { $0["verdict"] as? String == "accept" && $0["rule"] as? String == "r1" }
                #expect(accepted.count == 1, "attempt \(attempt): \(run.data(ofType: ".network_flow_decision"))")
                let r1 = run.data(ofType: ".nft_counter").first { $0["rule"] as? String == "r1" }
                #expect("\(r1?["packets"] ?? "")" == "1", "attempt \(attempt)")
            }
        }
    }

    func dnsDropsSeen(_ run: CellLab.Run) -> Bool {
        run.data(ofType: ".network_flow_decision").contains { $0["rule"] as? String == "dns" }
    }

    /// By default the workload is pid 1 of its own PID namespace (its /proc shows
    /// only its own processes), and `namespaces: ["pid"]` still asks for the same;
    /// `pid_namespace: false` opts out: a `warning:` line, `pid_namespace: false`
    /// in the started event, the layer `opted out` in the confined event, and the
    /// workload sees the host's processes.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func pidNamespaceFromTheSpec() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let script = #"echo "pid=$$ procs=$(ls -d /proc/[0-9]* | wc -l)""#
            func processes(_ run: CellLab.Run) -> Int {
                Int(run.result.stdout.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            }
            let isolated = try cell.broker(["--spec", try cell.specFile(id: "e2e-pidns", argv: ["/bin/bash", "-c", script])])
            let legacy = try cell.broker(["--spec", try cell.specFile(id: "e2e-pidns-legacy", argv: ["/bin/bash", "-c", script], namespaces: ["pid", "mount"])])
            for run in [isolated, legacy] {
                #expect(run.result.status == 0, "\(run.result.stderr)")
                // bash, the $(...) subshell, ls and wc: nothing of the host's.
                #expect(run.result.stdout.hasPrefix("pid=1 procs="), "\(run.result.stdout)")
                #expect((1...4).contains(processes(run)), "\(run.result.stdout)")
                #expect(!run.result.stderr.contains("PID namespace"), "\(run.result.stderr)")
            }
            #expect(isolated.data(ofType: ".started").first?["pid_namespace"] as? Bool == true)
            let layer = { (run: CellLab.Run) in
                (run.data(ofType: ".confined").first?["layers"] as? [[String: Any]])?.first { $0["name"] as? String == "pid_namespace" }
            }
            #expect(layer(isolated)?["applied"] as? Bool == true, "\(isolated.events)")

            let shared = try cell.broker(["--spec", try cell.specFile(
                id: "e2e-nopidns", argv: ["/bin/bash", "-c", script], extra: #""pid_namespace": false"#)])
            #expect(shared.result.status == 0, "\(shared.result.stderr)")
            #expect(!shared.result.stdout.hasPrefix("pid=1 "), "\(shared.result.stdout)")
            // The lab's netnsd, dnsmasq, socat, the broker and its helpers at least.
            #expect(processes(shared) > 4, "\(shared.result.stdout)")
            #expect(shared.result.stderr.contains(
                "cellos-broker: warning: cell e2e-nopidns shares the host's PID namespace (pid_namespace false): its workload sees and can signal the host's processes of its uid\n"),
                "\(shared.result.stderr)")
            #expect(shared.data(ofType: ".started").first?["pid_namespace"] as? Bool == false)
            #expect(layer(shared)?["applied"] as? Bool == false && layer(shared)?["detail"] as? String == "opted out", "\(shared.events)")
        }
    }

    /// The trail's start audit (`audit.v1.report`, before StartWorkload): the
    /// broker, both helpers and the parked workload, each holding nothing, with
    /// no_new_privs, the helpers and workload under seccomp, the workload at the
    /// uid `confined` reports. A cell that opted out of its PID namespace fails
    /// the workload's row (a required layer not applied) and gets a warning.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func theTrailRecordsTheStartAudit() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let run = try cell.broker(["--id", "e2e-audit", "--", "/bin/true"])
            #expect(run.result.status == 0, "\(run.result.stderr)")
            let report = try #require(run.data(ofType: ".audit.v1.report").first, "\(run.events)")
            let processes = (report["helpers"] as? [[String: Any]]) ?? []
            #expect(report["passed"] as? Bool == true, "\(report)")
            #expect(processes.map { $0["helper"] as? String ?? "" } == ["cellos-broker", "cellos-dnsproxy", "cellos-flowlog", "workload"], "\(processes)")
            for process in processes {
                #expect(process["failed"] as? Bool == false && process["no_new_privs"] as? Bool == true, "\(process)")
            }
            let uid = try #require(run.data(ofType: ".confined").first?["uid"] as? Int)
            #expect((processes.last?["uid"] as? [Int]) == [uid, uid, uid, uid], "\(processes.last ?? [:])")
            let types = run.events.compactMap { $0["type"] as? String }
            #expect(types.firstIndex { $0.hasSuffix(".audit.v1.report") }.map { $0 < (types.firstIndex { $0.hasSuffix(".completed") } ?? -1) } == true, "\(types)")

            let shared = try cell.broker(["--spec", try cell.specFile(id: "e2e-audit-nopidns", argv: ["/bin/true"], extra: #""pid_namespace": false"#)])
            let failed = try #require(shared.data(ofType: ".audit.v1.report").first, "\(shared.events)")
            #expect(failed["passed"] as? Bool == false, "\(failed)")
            let workload = (failed["helpers"] as? [[String: Any]])?.last
            #expect((workload?["violations"] as? [String])?.contains { $0.contains("pid_namespace not applied") } == true, "\(workload ?? [:])")
            #expect(shared.result.stderr.contains("start audit failed for workload"), "\(shared.result.stderr)")
        }
    }

    /// Ids: by default netnsd allocates the cell's own (the workload runs as what
    /// `confined` reports, never the broker's 65534 or root; `started` has null);
    /// explicit ids are used as given; the broker's own are refused before
    /// anything exists (no events file, no cell).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func workloadIdsAllocatedExplicitOrRefused() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let argv = ["/bin/sh", "-c", "id -u; id -g"]
            let allocated = try cell.broker(["--id", "e2e-ids-allocated", "--"] + argv)
            #expect(allocated.result.status == 0, "\(allocated.result.stderr)")
            let confined = try #require(allocated.data(ofType: ".confined").first, "\(allocated.events)")
            let uid = try #require(confined["uid"] as? Int)
            #expect(confined["ids"] as? String == "allocated" && uid != 65534 && uid != 0, "\(confined)")
            #expect(allocated.result.stdout == "\(uid)\n\(confined["gid"] ?? "")\n", "\(allocated.result.stdout)")
            #expect(allocated.data(ofType: ".started").first?["uid"] is NSNull)
            // The confined event sits between started and the workload's completion.
            let types = allocated.events.compactMap { ($0["type"] as? String)?.split(separator: ".").last.map(String.init) }
            #expect(types.firstIndex(of: "started").map { $0 < (types.firstIndex(of: "confined") ?? -1) } == true, "\(types)")
            #expect(types.firstIndex(of: "confined").map { $0 < (types.firstIndex(of: "completed") ?? -1) } == true, "\(types)")

            let explicit = try cell.broker(["--spec", try cell.specFile(id: "e2e-ids-explicit", argv: argv, extra: CellLab.explicitIDs)])
            #expect(explicit.result.status == 0, "\(explicit.result.stderr)")
            #expect(explicit.result.stdout == "70000\n70000\n")
            #expect(explicit.data(ofType: ".confined").first?["ids"] as? String == "explicit")

            let events = "\(cell.directory)/e2e-ids-refused.jsonl"
            let refused = try cell.lab.run(in: cell.host, [
                try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", cell.socket, "--events", events,
                "--spec", try cell.specFile(id: "e2e-ids-refused", argv: argv, extra: #""uid": 65534, "gid": 65534"#),
            ])
            #expect(refused.status == 125)
            #expect(refused.stderr.hasPrefix("cellos-broker: uid: 65534 is the broker's own user ("), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: events))
        }
    }

    /// The helpers start while the workload is parked; one that never gets ready
    /// ends the cell before the workload runs a single instruction: exit 123, a
    /// helper-failure event, the parked workload killed (its marker file never
    /// appears), nothing left running.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aHelperThatNeverGetsReadyEndsTheCellBeforeTheWorkloadRuns() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let helpers = "\(cell.directory)/helpers"
            // A host directory the workload could write, bound into its view at /out.
            let out = "\(cell.directory)/out"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
            let marker = "\(out)/ran"
            try FileManager.default.createDirectory(atPath: helpers, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
            try "#!/bin/sh\necho 'cellos-dnsproxy: broken on purpose' >&2\nexit 3\n".write(toFile: "\(helpers)/cellos-dnsproxy", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(helpers)/cellos-dnsproxy")
            try FileManager.default.createSymbolicLink(atPath: "\(helpers)/cellos-flowlog", withDestinationPath: try BuiltProducts.path(of: "cellos-flowlog"))
            let spec = try cell.specFile(
                id: "e2e-notready", argv: ["/bin/sh", "-c", "echo ran > /out/ran"],
                extra: #""mounts": [{"source": "\#(out)", "target": "/out", "mode": "rw"}]"#)
            let run = try cell.broker(["--spec", spec, "--helpers-dir", helpers])
            #expect(run.result.status == 123, "\(run.result.stderr)")
            #expect(run.data(ofType: ".failed").contains { $0["helper"] as? String == "cellos-dnsproxy" }, "\(run.events)")
            #expect(run.data(ofType: ".destroyed").first?["reason"] as? String == "helper_failure")
            #expect(run.data(ofType: ".completed").first?["signal"] as? Int == Int(SIGKILL), "\(run.events)")
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(try Shell.run(["pgrep", "-f", "cellos-flowlog .*--cell-id e2e-notready"]).stdout.isEmpty)
        }
    }

    /// A workload that outlives its timeout is stopped and the broker exits 124:
    /// with SIGTERM when it shares the host's PID namespace; as pid 1 of its own
    /// (the default) a `sleep` has no SIGTERM handler, the kernel ignores the
    /// signal for it, and the SIGKILL after the grace ends it.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func timeoutStopsTheWorkload() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            for (id, extra, signal) in [
                ("e2e-timeout", #""pid_namespace": false"#, SIGTERM), ("e2e-timeout-pid1", "", SIGKILL),
            ] {
                let run = try cell.broker(["--spec", try cell.specFile(id: id, argv: ["/bin/sleep", "30"], timeout: "300ms", extra: extra)])
                #expect(run.result.status == 124, "\(run.result.stderr)")
                let completed = run.data(ofType: ".completed").first
                #expect(completed?["timed_out"] as? Bool == true)
                #expect(completed?["signal"] as? Int == Int(signal), "\(id)")
                #expect(run.data(ofType: ".destroyed").first?["reason"] as? String == "timeout")
            }
        }
    }

    /// Killing the DNS proxy mid-run tears the cell down: a helper-failure event,
    /// the workload killed, exit status 123.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func proxyDeathTearsTheCellDown() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let spec = try cell.specFile(id: "e2e-kill", argv: ["/bin/sleep", "30"])
            let killer = Thread {
                for _ in 0..<100 {
                    usleep(100_000)
                    let found = (try? Shell.run(["pgrep", "-f", "cellos-dnsproxy .*--cell-id e2e-kill"]))?.stdout ?? ""
                    if let pid = found.split(separator: "\n").first.flatMap({ Int32($0) }) {
                        kill(pid, SIGKILL)
                        return
                    }
                }
            }
            killer.start()
            let run = try cell.broker(["--spec", spec])
            #expect(run.result.status == 123, "\(run.result.stderr)")
            let failed = run.data(ofType: ".helper.v1.failed")
            #expect(failed.first?["helper"] as? String == "cellos-dnsproxy", "\(run.events)")
            #expect(failed.first?["signal"] as? Int == Int(SIGKILL))
            #expect(run.data(ofType: ".destroyed").first?["reason"] as? String == "helper_failure")
            #expect(run.data(ofType: ".completed").first?["signal"] as? Int == Int(SIGKILL))
        }
    }

    /// Signed events verify; a flipped byte does not.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func signedEventsVerifyAndTamperingFails() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let broker = try BuiltProducts.path(of: "cellos-broker")
            let key = "\(cell.directory)/key"
            _ = try Shell.check([broker, "keygen", "--out", key])
            let run = try cell.broker(["--sign-key", key, "--id", "e2e-sign", "--", "/bin/sh", "-c", "echo signed"], events: "signed")
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(run.result.stdout == "signed\n")
            let path = "\(cell.directory)/signed.jsonl"
            #expect(try Shell.run([broker, "verify", "--key", "\(key).pub", path]).status == 0)
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            let index = try #require(bytes.firstIndex(of: UInt8(ascii: "0")))
            bytes[index] = UInt8(ascii: "1")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(try Shell.run([broker, "verify", "--key", "\(key).pub", path]).status == 1)
        }
    }

    /// 100 consecutive runs (with a dual-stack uplink each) leave no namespace, veth, IPv6 uplink
    /// address, nft table, helper process or netnsd descriptor behind.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func consecutiveRunsLeaveNothingBehind() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            // Cell ids carry the lab's prefix, so the host-wide listings below count
            // this test's cells only, not those of another suite running beside it.
            let tag = "e2e-\(cell.lab.prefix)"
            func snapshot() throws -> [String] {
                let links = try Shell.check(["ip", "-n", cell.host.name, "-o", "link", "show"]).stdout.split(separator: "\n").count
                let tables = try Shell.check(["ip", "netns", "exec", cell.host.name, "nft", "list", "tables"]).stdout
                // Each run's uplink also has an IPv6 pair from fd00:ce11::/64; it goes with the veth.
                let uplink6 = try Shell.check(["ip", "-n", cell.host.name, "-6", "-o", "addr", "show"]).stdout
                    .split(separator: "\n").filter { $0.contains("fd00:ce11:") }.count
                let netns = try Shell.check(["ip", "netns", "list"]).stdout.split(separator: "\n").filter { $0.contains(cell.lab.prefix) }.count
                let helpers = (try Shell.run(["pgrep", "-f", "cellos-(dnsproxy|flowlog) .*--cell-id \(tag)-"])).stdout.split(separator: "\n").count
                let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(cell.netnsdPID)/fd").count
                // v2 leaves under the lab's root and v1 leaves beneath netnsd's own cgroups.
                let leaves = try Shell.check(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", "cell-\(tag)-*"]).stdout
                return ["links \(links)", "tables \(tables)", "uplink IPv6 addresses \(uplink6)", "netns \(netns)", "helpers \(helpers)", "netnsd fds \(fds)", "cgroup leaves [\(leaves)]"]
            }
            // One warm-up run: the daemon's first cell may open lasting descriptors (e.g. libraries).
            _ = try cell.broker(["--id", "\(tag)-warm", "--allow-egress", "tcp:192.0.2.80:8080", "--", "/bin/true"])
            let before = try snapshot()
            for index in 0..<100 {
                let run = try cell.broker(["--id", "\(tag)-\(index)", "--allow-egress", "tcp:192.0.2.80:8080", "--", "/bin/true"])
                #expect(run.result.status == 0, "\(run.result.stderr)")
            }
            let after = try snapshot()
            #expect(after == before, "before \(before), after \(after)")
        }
    }

    /// The spec's limits reach the workload through netnsd's cgroups: with
    /// `limits.pids` 5, a perl forking 20 children gets 4 of them (itself plus 4)
    /// and 16 failures; every limit is enforced (no limits_not_enforced event).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func specLimitsApplyToTheWorkload() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let script = #"my ($ok, $failed) = (0, 0); for (1..20) { my $pid = fork(); if (!defined $pid) { $failed++ } elsif ($pid == 0) { sleep 1; exit 0 } else { $ok++ } } print "forked=$ok failed=$failed\n"; 1 while wait() > 0;"#
            let spec = try cell.specFile(
                id: "e2e-limits", argv: ["/usr/bin/perl", "-e", script], limits: #"{"memory": "64M", "pids": 5, "cpu_percent": 50}"#)
            let run = try cell.broker(["--spec", spec])
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(run.result.stdout == "forked=4 failed=16\n", "\(run.result.stdout) \(run.result.stderr)")
            #expect(run.events(ofType: ".limits_not_enforced").isEmpty)
            #expect(!run.result.stderr.contains("warning"), "\(run.result.stderr)")
        }
    }

    /// netnsd without --cgroup-root: the cell still runs, and the broker warns on
    /// stderr and emits limits_not_enforced naming each limit with netnsd's reason.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func limitsWithoutCgroupRootAreReported() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab(cgroups: false) { cell in
            let run = try cell.broker(["--spec", try cell.specFile(id: "e2e-nolimits", argv: ["/bin/true"], limits: #"{"pids": 32}"#)])
            #expect(run.result.status == 0, "\(run.result.stderr)")
            #expect(run.result.stderr.contains(
                "cellos-broker: warning: cell e2e-nolimits runs without limits.memory (not enforced: no --cgroup-root), limits.pids (not enforced: no --cgroup-root), limits.cpu_percent (not enforced: no --cgroup-root)\n"),
                "\(run.result.stderr)")
            let reported = try #require(run.data(ofType: ".limits_not_enforced").first?["limits"] as? [[String: Any]])
            #expect(reported.map { "\($0["limit"] ?? "")=\($0["value"] ?? "") \($0["field"] ?? ""): \($0["reason"] ?? "")" } == [
                "memory=268435456 limits.memory: no --cgroup-root", "pids=32 limits.pids: no --cgroup-root",
                "cpu=100 limits.cpu_percent: no --cgroup-root",
            ])
        }
    }

    /// SIGTERM to the broker mid-run: the workload is killed, the cell torn down
    /// (`destroyed` with reason `interrupted`), the broker exits 128+15; and netnsd's
    /// death mid-run is reported as `netnsd_lost` with status 125, the broker
    /// saying (and recording) what `/proc` says of the workload then: ended with
    /// netnsd, or still running.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func brokerSignalAndLostNetnsdTearDown() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let broker = try BuiltProducts.path(of: "cellos-broker")
            // A duration no other process on the machine uses, so pgrep finds only this workload.
            func startBroker(_ id: String, sleep seconds: String) throws -> (Process, String, String) {
                let events = "\(cell.directory)/\(id).jsonl"
                let stderr = "\(cell.directory)/\(id).err"
                FileManager.default.createFile(atPath: stderr, contents: nil)
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = [
                    "ip", "netns", "exec", cell.host.name, broker, "run", "--netnsd-socket", cell.socket, "--events", events,
                    "--spec", try cell.specFile(id: id, argv: ["/bin/sleep", seconds]),
                ]
                process.standardInput = FileHandle.nullDevice
                process.standardOutput = FileHandle.nullDevice
                process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
                try process.run()
                // Running once the workload is: its sleep shows up.
                for _ in 0..<100 {
                    if (try? Shell.run(["pgrep", "-f", "^/bin/sleep \(seconds)$"]))?.status == 0 { break }
                    usleep(50_000)
                }
                return (process, events, stderr)
            }
            let (interrupted, events, _) = try startBroker("e2e-sigterm", sleep: "31.7")
            kill(interrupted.processIdentifier, SIGTERM)
            interrupted.waitUntilExit()
            #expect(interrupted.terminationStatus == 128 + SIGTERM)
            let data = try CellLab.readEvents(events).compactMap { $0["data"] as? [String: Any] }
            #expect(data.contains { $0["reason"] as? String == "interrupted" }, "\(data)")
            #expect(data.contains { $0["signal"] as? Int == Int(SIGKILL) && $0["duration_ms"] != nil }, "\(data)")
            #expect((try Shell.run(["pgrep", "-f", "^/bin/sleep 31.7$"])).status != 0)

            let (orphaned, lostEvents, lostStderr) = try startBroker("e2e-lost", sleep: "32.3")
            let workload = try #require(try Shell.run(["pgrep", "-f", "^/bin/sleep 32.3$"]).stdout.split(separator: "\n").first.flatMap { Int32($0) })
            kill(cell.netnsdPID, SIGKILL)
            orphaned.waitUntilExit()
            // What the kernel says now; the broker looked at most a second before.
            let stat = (try? String(contentsOfFile: "/proc/\(workload)/stat", encoding: .utf8)) ?? ""
            let stillRunning = !stat.isEmpty && !stat.contains(") Z ")
            #expect(orphaned.terminationStatus == 125)
            let message = try String(contentsOfFile: lostStderr, encoding: .utf8)
            let expected = stillRunning
                ? "netnsd is gone and the workload (pid \(workload)) is still running"
                : "netnsd is gone; the workload (pid \(workload)) ended with it"
            #expect(message.contains("cellos-broker: cell e2e-lost: the connection to cellos-netnsd failed: ") && message.contains(expected + "\n"), "\(message)")
            #expect(!message.contains("netnsd destroys"), "\(message)")
            let destroyed = try #require(CellLab.readEvents(lostEvents).compactMap { $0["data"] as? [String: Any] }.first { $0["reason"] != nil })
            #expect(destroyed["reason"] as? String == "netnsd_lost", "\(destroyed)")
            #expect(destroyed["workload"] as? String == (stillRunning ? "running" : "ended"), "\(destroyed)")
            #expect(destroyed["workload_pid"] as? Int == Int(workload), "\(destroyed)")
            #expect((destroyed["detail"] as? String)?.hasSuffix(expected) == true, "\(destroyed)")
            // The lab's teardown empties the cell's cgroup leaf, so a survivor goes too.
        }
    }

    /// While a cell runs, the capability audit of the live netnsd, proxy and flow
    /// log passes, and the helpers the broker started run as its unprivileged user.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func auditOfARunningCellPasses() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let broker = try BuiltProducts.path(of: "cellos-broker")
            let process = try Shell.start([
                "ip", "netns", "exec", cell.host.name, broker, "run", "--netnsd-socket", cell.socket,
                "--spec", try cell.specFile(id: "e2e-audit", argv: ["/bin/sleep", "33.1"]),
            ])
            defer {
                kill(process.processIdentifier, SIGTERM)
                process.waitUntilExit()
            }
            func pid(_ pattern: String) -> String? {
                (try? Shell.run(["pgrep", "-f", pattern]))?.stdout.split(separator: "\n").first.map(String.init)
            }
            for _ in 0..<100 where pid("^/bin/sleep 33.1$") == nil { usleep(50_000) }
            let proxy = try #require(pid("cellos-dnsproxy .*--cell-id e2e-audit"))
            let flowlog = try #require(pid("cellos-flowlog .*--cell-id e2e-audit"))
            for helper in [proxy, flowlog] {
                let status = try String(contentsOfFile: "/proc/\(helper)/status", encoding: .utf8)
                #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(status)")
            }
            let audit = try Shell.run([
                broker, "audit", "--pid", "cellos-netnsd=\(cell.netnsdPID)", "--pid", "cellos-dnsproxy=\(proxy)",
                "--pid", "cellos-flowlog=\(flowlog)",
            ])
            #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
            // The helpers are non-dumpable, yet their status stays readable: the audit
            // works for a user of their own uid too, and inspects both.
            let unprivileged = try Shell.run([
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", broker, "audit", "--json",
                "--pid", "cellos-dnsproxy=\(proxy)", "--pid", "cellos-flowlog=\(flowlog)",
            ])
            #expect(unprivileged.status == 0, "\(unprivileged.stdout)\(unprivileged.stderr)")
            #expect(unprivileged.stdout.contains("\"pid\":\(proxy)") && unprivileged.stdout.contains("\"pid\":\(flowlog)"), "\(unprivileged.stdout)")
            #expect(!unprivileged.stdout.contains("cannot read"), "\(unprivileged.stdout)")
            #expect(unprivileged.stdout.components(separatedBy: "\"dumpable\":false").count == 3, "\(unprivileged.stdout)")
        }
    }
}

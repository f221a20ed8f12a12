import CellosTestLab
import Foundation
import IPCWire
import Testing

/// The end-to-end lab (as scripts/demo.sh builds it): a "host" namespace running
/// cellos-netnsd (uplink pools 10.200.0.0/24 and fd00:ce11::/64, NAT in that namespace) and an
/// "internet" namespace with dnsmasq on 192.0.2.53 (allowed.cellos.test,
/// denied.cellos.test) and TCP sinks on 192.0.2.80:8080 and :9090. The broker
/// runs in the host namespace. Daemons are spawned with `ActivatedSpawn` and reaped
/// here (a long-running Foundation `Process` parks a Dispatch worker in waitpid).
/// netnsd gets `--cgroup-root` in a directory the lab makes in the machine's
/// cgroup v2 hierarchy (and removes), so the specs' limits really apply.
final class CellLab {
    let lab: Lab
    let host: LabNamespace
    let internet: LabNamespace
    let directory: String
    let socket: String
    private(set) var netnsdPID: pid_t = 0
    private var daemons: [pid_t] = []
    /// netnsd's `--cgroup-root`, nil when the lab runs it without one.
    let cgroupRoot: String?

    static func v2Hierarchy() -> String? {
        ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].first { FileManager.default.fileExists(atPath: "\($0)/cgroup.controllers") }
    }

    /// netnsd's standard error, when the lab was made with `netnsdLog`.
    var netnsdLog: String { directory + "/netnsd.stderr" }

    /// `netnsdArguments` go to cellos-netnsd after the lab's own (e.g. a limit);
    /// with `netnsdLog`, its standard error goes to `netnsdLog` instead of the test's.
    init(_ lab: Lab, cgroups: Bool = true, netnsdArguments: [String] = [], netnsdLog: Bool = false) throws {
        self.lab = lab
        host = try lab.addNamespace("host")
        internet = try lab.addNamespace("inet")
        let pair = try lab.link(host, "192.0.2.1/24", internet, "192.0.2.53/24")
        _ = try Shell.check(["ip", "-n", internet.name, "addr", "add", "192.0.2.80/24", "dev", pair.nameB])
        directory = NSTemporaryDirectory() + "cellos-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socket = directory + "/netnsd.sock"
        if cgroups {
            let hierarchy = try #require(Self.v2Hierarchy(), "no cgroup v2 hierarchy on this machine")
            let root = "\(hierarchy)/cellos-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try #require(mkdir(root, 0o755) == 0, "mkdir \(root): errno \(errno)")
            cgroupRoot = root
        } else {
            cgroupRoot = nil
        }
        do {
            try spawn(in: internet, [
                "/usr/sbin/dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--user=root", "--pid-file=",
                "--listen-address=192.0.2.53", "--bind-interfaces", "--local=/cellos.test/",
                "--host-record=allowed.cellos.test,192.0.2.80", "--host-record=denied.cellos.test,192.0.2.99",
                "--log-facility=\(directory)/dnsmasq.log",
            ])
            for port in [8080, 9090] {
                try spawn(in: internet, ["/usr/bin/socat", "-u", "TCP-LISTEN:\(port),bind=192.0.2.80,reuseaddr,fork", "OPEN:/dev/null"])
            }
            // `nsenter` execs in place (no fork): the pid and the readiness pipe are
            // netnsd's. Not `ip netns exec`: it mounts a fresh /sys, without /sys/fs/cgroup.
            let command = ["/usr/bin/nsenter", "--net=\(host.path)", "--", try BuiltProducts.path(of: "cellos-netnsd"), "--socket", socket,
                           "--state-dir", "\(directory)/netnsd-state", "--allow-uid", "0",
                           "--uplink-pool", "10.200.0.0/24", "--uplink-pool6", "fd00:ce11::/64"] + (cgroupRoot.map { ["--cgroup-root", $0] } ?? [])
                + netnsdArguments
            // `sh` execs in place too.
            let (executable, arguments) = netnsdLog
                ? ("/bin/sh", ["-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"", "sh", self.netnsdLog] + command)
                : (command[0], Array(command.dropFirst()))
            var netnsd = try ActivatedSpawn.spawn(
                executable: executable, arguments: arguments,
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], names: [], descriptors: DescriptorSet())
            netnsdPID = netnsd.pid
            daemons.append(netnsd.pid)
            try netnsd.waitUntilReady(timeoutMilliseconds: 10_000)
        } catch {
            stop()
            throw error
        }
    }

    @discardableResult
    private func spawn(in namespace: LabNamespace, _ command: [String]) throws -> pid_t {
        let pid = try ActivatedSpawn.spawn(
            executable: "/usr/sbin/ip", arguments: ["netns", "exec", namespace.name] + command,
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], names: [], descriptors: DescriptorSet()).pid
        daemons.append(pid)
        return pid
    }

    func stop() {
        for pid in daemons { kill(pid, SIGTERM) }
        for pid in daemons {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        daemons = []
        if let cgroupRoot { Self.removeCgroupRoot(cgroupRoot) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Removes the lab's cgroup root once netnsd is gone. A leaf netnsd left (a
    /// failure, or the test that SIGKILLs netnsd mid-run) is emptied
    /// (cgroup.kill) and removed first, with its v1 namesakes beneath netnsd's
    /// own cgroups (netnsd runs in this process's cgroups).
    static func removeCgroupRoot(_ root: String) {
        let leaves = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("cell-") }
        func removeWhenEmpty(_ path: String) {
            let deadline = Date().addingTimeInterval(2)
            while rmdir(path) != 0 && errno == EBUSY && Date() < deadline { usleep(10_000) }
        }
        for leaf in leaves {
            try? "1".write(toFile: "\(root)/\(leaf)/cgroup.kill", atomically: false, encoding: .utf8)
            removeWhenEmpty("\(root)/\(leaf)")
            let v1 = (try? Shell.run(["find", "/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-path", "*/cellos/\(leaf)"]))?.stdout ?? ""
            for path in v1.split(separator: "\n") {
                removeWhenEmpty(String(path))
                // Its `cellos` parent too, as netnsd would have (fails harmlessly
                // while other leaves are there, or in a read-only hierarchy root).
                rmdir(String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]))
            }
        }
        rmdir(root)
    }

    /// Explicit workload ids for the tests that want them (specs default to ids
    /// netnsd allocates): outside netnsd's allocation range, neither the broker's
    /// and helpers' 65534 nor root.
    static let explicitIDs = #""uid": 70000, "gid": 70000"#

    /// A spec file whose DNS upstream is the lab's dnsmasq; `extra` is more
    /// top-level members as JSON text (e.g. `"pid_namespace": false`).
    func specFile(
        id: String, argv: [String], egress: String = #"[{"protocol": "tcp", "address": "192.0.2.80", "port": 8080}]"#, timeout: String = "20s",
        limits: String? = nil, namespaces: [String]? = nil, extra: String = ""
    ) throws -> String {
        let argvJSON = String(data: try JSONSerialization.data(withJSONObject: argv), encoding: .utf8)!
        let text = """
            {"version": 1, "id": "\(id)", "argv": \(argvJSON), "env": {"PATH": "/usr/bin:/bin"}, "timeout": "\(timeout)", "grace": "500ms",
             "dns": {"allow": ["allowed.cellos.test"], "query_types": ["A", "AAAA"], "upstream": "192.0.2.53"},
             "egress": \(egress)\(extra.isEmpty ? "" : ", \(extra)")\(limits.map { ", \"limits\": \($0)" } ?? "")\(namespaces.map { ", \"namespaces\": [\($0.map { "\"\($0)\"" }.joined(separator: ", "))]" } ?? "")}
            """
        let path = "\(directory)/\(id).json"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    struct Run {
        let result: CommandResult
        let events: [[String: Any]]

        func events(ofType suffix: String) -> [[String: Any]] {
            events.filter { ($0["type"] as? String)?.hasSuffix(suffix) == true }
        }

        func data(ofType suffix: String) -> [[String: Any]] { events(ofType: suffix).compactMap { $0["data"] as? [String: Any] } }
    }

    /// `cellos-broker run --netnsd-socket … --events FILE ARGS` in the host namespace.
    func broker(_ arguments: [String], events name: String = UUID().uuidString) throws -> Run {
        let events = "\(directory)/\(name).jsonl"
        let result = try lab.run(in: host, [try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", socket, "--events", events] + arguments)
        return Run(result: result, events: try Self.readEvents(events))
    }

    static func readEvents(_ path: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        }
    }
}

func withCellLab(cgroups: Bool = true, netnsdArguments: [String] = [], netnsdLog: Bool = false, _ body: (CellLab) throws -> Void) throws {
    try withLab { lab in
        let cell = try CellLab(lab, cgroups: cgroups, netnsdArguments: netnsdArguments, netnsdLog: netnsdLog)
        defer { cell.stop() }
        try body(cell)
    }
}

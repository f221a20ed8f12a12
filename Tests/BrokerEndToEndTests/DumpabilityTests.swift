import CellosTestLab
import Foundation
import Testing

/// The broker and both helpers make themselves non-dumpable first thing: a
/// process of their own uid (65534, like the helpers) can neither list
/// `/proc/<pid>/fd`, read `/proc/<pid>/environ` nor `pidfd_getfd` a descriptor,
/// while the same probe succeeds against an ordinary process of that uid.
@Suite(.serialized) struct DumpabilityTests {
    static let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]

    /// For each pid: `PID fd=… environ=… getfd=…`, each `ok` or the errno.
    /// pidfd_open is 434 and pidfd_getfd 438 on every architecture.
    static let probe = #"""
        for my $pid (@ARGV) {
            my $fd = opendir(my $d, "/proc/$pid/fd") ? "ok" : $! + 0;
            my $env = open(my $e, "<", "/proc/$pid/environ") ? "ok" : $! + 0;
            my $p = syscall(434, $pid + 0, 0);
            my $get = $p < 0 ? "pidfd_open:" . ($! + 0) : (syscall(438, $p, 0, 0) >= 0 ? "ok" : $! + 0);
            print "$pid fd=$fd environ=$env getfd=$get\n";
        }
        """#

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func aSameUIDProcessCannotReachIntoTheBrokerOrItsHelpers() throws {
        try PrivilegedTest.requireRoot()
        try withCellLab { cell in
            let broker = try BuiltProducts.path(of: "cellos-broker")
            let running = try Shell.start([
                "ip", "netns", "exec", cell.host.name, broker, "run", "--netnsd-socket", cell.socket,
                "--spec", try cell.specFile(id: "e2e-dump", argv: ["/bin/sleep", "34.7"]),
            ])
            // A broker started as 65534 itself (no drop that would clear dumpability
            // as a side effect), parked reading its spec from a pipe.
            let spec = Pipe()
            let unprivileged = Process()
            unprivileged.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            unprivileged.arguments = Self.asNobody + [broker, "spec", "-"]
            unprivileged.standardInput = spec
            unprivileged.standardOutput = FileHandle.nullDevice
            unprivileged.standardError = FileHandle.nullDevice
            try unprivileged.run()
            // The control: an ordinary process of the same uid.
            let control = try Shell.start(Self.asNobody + ["/bin/sleep", "35.3"])
            defer {
                // SIGKILL: children of the test runner inherit its blocked SIGTERM
                // (only `run` unblocks it).
                kill(running.processIdentifier, SIGTERM)
                for process in [unprivileged, control] { kill(process.processIdentifier, SIGKILL) }
                for process in [running, unprivileged, control] { process.waitUntilExit() }
            }
            func pid(_ pattern: String) -> String? {
                (try? Shell.run(["pgrep", "-f", pattern]))?.stdout.split(separator: "\n").first.map(String.init)
            }
            for _ in 0..<100 where pid("^/bin/sleep 34.7$") == nil || pid("^/bin/sleep 35.3$") == nil || pid("^\(broker) spec -$") == nil {
                usleep(50_000)
            }
            let targets = [
                ("control", try #require(pid("^/bin/sleep 35.3$"))),
                ("cellos-dnsproxy", try #require(pid("cellos-dnsproxy .*--cell-id e2e-dump"))),
                ("cellos-flowlog", try #require(pid("cellos-flowlog .*--cell-id e2e-dump"))),
                ("cellos-broker as 65534", try #require(pid("^\(broker) spec -$"))),
                ("cellos-broker dropped from root", try #require(pid("^\(broker) run .*e2e-dump"))),
            ]
            for (name, target) in targets where name != "control" {
                let status = try String(contentsOfFile: "/proc/\(target)/status", encoding: .utf8)
                #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(name): \(status)")
            }
            let result = try Shell.run(Self.asNobody + ["perl", "-e", Self.probe] + targets.map(\.1))
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == targets.count, "\(result.stdout)\(result.stderr)")
            for ((name, target), line) in zip(targets, lines) {
                let expected = name == "control"
                    ? "\(target) fd=ok environ=ok getfd=ok"
                    : "\(target) fd=\(EACCES) environ=\(EACCES) getfd=\(EPERM)"
                #expect(line == expected, "\(name)")
            }
        }
    }
}

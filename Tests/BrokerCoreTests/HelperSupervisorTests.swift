@testable import BrokerCore
import CellosTestLab
import Foundation
import Glibc
import IPCWire
import Testing

/// `HelperSupervisor` against real child processes: /bin/sh scripts that speak the
/// readiness protocol and write event lines to `--events PATH`, and
/// `cellos-test-child` for the socket-activation side.
@Suite struct HelperSupervisorTests {
    /// A shell "helper": `$1` is the events path; READY=1 goes to CELLOS_NOTIFY_FD.
    static func shell(_ script: String, readinessTimeout: Int = 5000) -> HelperLaunch {
        HelperLaunch(
            executable: "/bin/sh", arguments: ["-c", script, "helper", HelperLaunch.eventsPlaceholder],
            environment: ["PATH": "/usr/bin:/bin"], readinessTimeoutMilliseconds: readinessTimeout)
    }

    static let ready = #"printf 'STATUS=starting\nREADY=1\n' >&"$CELLOS_NOTIFY_FD"; "#

    static func isGone(_ pid: pid_t) -> Bool { kill(pid, 0) == -1 && errno == ESRCH }

    @Test func collectsEventLinesAndStopsWithSIGTERM() throws {
        let supervisor = try HelperSupervisor(
            launch: Self.shell(#"exec 5>>"$1"; trap 'echo "{\"stats\":{}}" >&5; exit 0' TERM; "# + Self.ready + #"echo '{"qname":"a.test","decision":"allow"}' >&5; while :; do sleep 0.05; done"#),
            descriptors: DescriptorSet())
        var lines: [[UInt8]] = []
        for _ in 0..<100 where lines.isEmpty { lines += supervisor.readLines(timeoutMilliseconds: 50) }
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"qname":"a.test","decision":"allow"}"#])
        #expect(supervisor.exitIfEnded() == nil)
        let (exit, rest) = supervisor.stop(graceMilliseconds: 5000)
        #expect(exit == HelperExit(termination: .exited(0), signalSent: SIGTERM))
        #expect(rest.map { String(decoding: $0, as: UTF8.self) } == [#"{"stats":{}}"#])
        #expect(Self.isGone(supervisor.pid))
    }

    @Test func helperIgnoringSIGTERMIsKilledAfterTheGrace() throws {
        let supervisor = try HelperSupervisor(launch: Self.shell("trap '' TERM; " + Self.ready + "while :; do sleep 0.05; done"), descriptors: DescriptorSet())
        let (exit, _) = supervisor.stop(graceMilliseconds: 200)
        #expect(exit == HelperExit(termination: .signaled(SIGKILL), signalSent: SIGKILL))
        #expect(exit.description == "killed by signal 9 (the broker sent SIGKILL)")
        #expect(Self.isGone(supervisor.pid))
    }

    /// Two helpers started without waiting, then READY from each; stopped
    /// together: `requestStop` sends SIGTERM at once (the polite helper ends
    /// before `stop` is called), `stop` then waits out the grace and SIGKILLs the
    /// one ignoring SIGTERM.
    @Test func helpersStartAndStopTogether() throws {
        let polite = try HelperSupervisor(
            starting: Self.shell(#"exec 5>>"$1"; trap 'echo "{\"stats\":{}}" >&5; exit 0' TERM; "# + Self.ready + "while :; do sleep 0.05; done"),
            descriptors: DescriptorSet())
        let stubborn = try HelperSupervisor(starting: Self.shell("trap '' TERM; " + Self.ready + "while :; do sleep 0.05; done"), descriptors: DescriptorSet())
        try polite.waitUntilReady()
        try stubborn.waitUntilReady()
        try polite.waitUntilReady()  // a second wait is a no-op
        polite.requestStop()
        stubborn.requestStop()
        var ended: HelperExit?
        for _ in 0..<1000 where ended == nil {
            ended = polite.exitIfEnded()
            if ended == nil { usleep(5000) }
        }
        #expect(ended == HelperExit(termination: .exited(0), signalSent: SIGTERM))
        let (politeExit, lines) = polite.stop(graceMilliseconds: 400)
        let (stubbornExit, _) = stubborn.stop(graceMilliseconds: 400)
        #expect(politeExit == ended)
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"stats":{}}"#])
        #expect(stubbornExit == HelperExit(termination: .signaled(SIGKILL), signalSent: SIGKILL))
        #expect(Self.isGone(polite.pid) && Self.isGone(stubborn.pid))
    }

    @Test func helperDyingMidRunIsNoticed() throws {
        let supervisor = try HelperSupervisor(launch: Self.shell(Self.ready + #"echo '{"last":1}' >> "$1"; exit 9"#), descriptors: DescriptorSet())
        var exit: HelperExit?
        for _ in 0..<400 where exit == nil {
            exit = supervisor.exitIfEnded()
            if exit == nil { usleep(5000) }
        }
        #expect(exit == HelperExit(termination: .exited(9), signalSent: nil))
        let (final, lines) = supervisor.stop(graceMilliseconds: 100)
        #expect(final == exit)
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"last":1}"#])
    }

    /// The readiness failure and exit a launch that never gets ready produces.
    static func notReady(_ launch: HelperLaunch) -> (name: String, readiness: ReadinessError, exit: HelperExit)? {
        let result: Result<HelperSupervisor, HelperError> = Result { () throws(HelperError) in try HelperSupervisor(launch: launch, descriptors: DescriptorSet()) }
        switch result {
        case .success: return nil
        case .failure(.notReady(let name, let readiness, let exit)): return (name, readiness, exit)
        case .failure: return nil
        }
    }

    @Test func helperExitingBeforeReadyIsReportedWithItsStatus() throws {
        let failure = try #require(Self.notReady(Self.shell(#"echo 'STATUS=cannot bind' >&"$CELLOS_NOTIFY_FD"; exit 4"#)))
        #expect(failure.name == "sh")
        #expect(failure.exit.termination == .exited(4))
        guard case .closedBeforeReady(let pid, let status) = failure.readiness else {
            Issue.record("unexpected \(failure.readiness)")
            return
        }
        #expect(status == "cannot bind")
        #expect(Self.isGone(pid))
    }

    @Test func helperNotReadyInTimeIsKilledAndReaped() throws {
        let failure = try #require(Self.notReady(Self.shell("exec sleep 30", readinessTimeout: 200)))
        #expect(failure.exit == HelperExit(termination: .signaled(SIGKILL), signalSent: SIGKILL))
        guard case .timedOut(let pid, _) = failure.readiness else {
            Issue.record("unexpected \(failure.readiness)")
            return
        }
        #expect(Self.isGone(pid))
    }

    @Test func longLinesAreCutAndPartialLastLineIsKept() throws {
        let supervisor = try HelperSupervisor(
            launch: Self.shell(Self.ready + #"head -c 70000 /dev/zero | tr '\0' x >> "$1"; printf '\nshort\ntail' >> "$1"; exit 0"#),
            descriptors: DescriptorSet())
        // Keep reading while it writes: 70000 bytes do not fit in a pipe buffer.
        var lines: [[UInt8]] = []
        for _ in 0..<200 {
            lines += supervisor.readLines(timeoutMilliseconds: 20)
            if supervisor.exitIfEnded() != nil { break }
        }
        lines += supervisor.stop(graceMilliseconds: 2000).lines
        #expect(lines.map(\.count) == [HelperEventWrapper.maxLineBytes, 5, 4])
    }

    @Test func namedDescriptorsReachTheHelperBySocketActivation() throws {
        let child = try BuiltProducts.path(of: "cellos-test-child")
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("supervised-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        defer { unlink(report) }
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        let peer = OwnedFD(adopting: pair[1])
        var descriptors = DescriptorSet()
        descriptors.append(OwnedFD(adopting: pair[0]))
        let supervisor = try HelperSupervisor(
            launch: HelperLaunch(executable: child, arguments: [report, "ready"], descriptorNames: ["dns-udp"]),
            descriptors: descriptors)
        // It exits by itself right after READY=1.
        for _ in 0..<400 where supervisor.exitIfEnded() == nil { usleep(5000) }
        let (exit, _) = supervisor.stop(graceMilliseconds: 2000)
        #expect(exit == HelperExit(termination: .exited(0), signalSent: nil))
        let lines = try String(contentsOfFile: report, encoding: .utf8).split(separator: "\n")
        #expect(lines.first?.hasPrefix("dns-udp 3 ") == true)
        _ = peer
    }

    @Test func eventFIFODirectoryIsRemoved() throws {
        var path = ""
        do {
            let supervisor = try HelperSupervisor(launch: Self.shell(Self.ready + #"echo "$1" > /dev/null; exit 0"#), descriptors: DescriptorSet())
            path = supervisor.eventsPath
            #expect(path.hasPrefix("/tmp/cellos-broker-") && path.hasSuffix("/events"))
            #expect(FileManager.default.fileExists(atPath: path))
            _ = supervisor.stop(graceMilliseconds: 1000)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: String(path.dropLast("/events".count))))
    }

    static func openDescriptorCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    }

    /// Twenty start/stop cycles (ready, failed before ready, killed) leave no
    /// descriptor, process or FIFO directory behind.
    @Test func cyclesLeakNothing() throws {
        let before = try Self.openDescriptorCount()
        var pids: [pid_t] = []
        var directories: [String] = []
        for round in 0..<20 {
            if round % 4 == 3 {
                _ = Self.notReady(Self.shell("exit 1"))
                continue
            }
            let supervisor = try HelperSupervisor(launch: Self.shell(Self.ready + "echo x >> \"$1\"; exec sleep 30"), descriptors: DescriptorSet())
            pids.append(supervisor.pid)
            directories.append(String(supervisor.eventsPath.dropLast("/events".count)))
            _ = supervisor.readLines(timeoutMilliseconds: 10)
            _ = supervisor.stop(graceMilliseconds: round % 2 == 0 ? 0 : 1000)
        }
        #expect(try Self.openDescriptorCount() == before)
        #expect(pids.allSatisfy(Self.isGone))
        #expect(directories.allSatisfy { !FileManager.default.fileExists(atPath: $0) })
    }
}

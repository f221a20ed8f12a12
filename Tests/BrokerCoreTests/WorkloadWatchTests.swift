@testable import BrokerCore
import Foundation
import IPCWire
import Testing

/// What the broker says about the workload when netnsd is lost comes from the
/// workload's pidfd, not from an assumption.
@Suite struct WorkloadWatchTests {
    @Test func aRunningProcessIsRunningAndAnEndedOneEnded() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer { if child.isRunning { child.terminate() } }
        let watch = WorkloadWatch(pid: child.processIdentifier)
        let started = Monotonic.milliseconds()
        #expect(watch.fate(waitingMilliseconds: 200) == .running)
        #expect(Monotonic.milliseconds() - started >= 200)
        kill(child.processIdentifier, SIGKILL)
        #expect(watch.fate(waitingMilliseconds: 1000) == .ended)
        child.waitUntilExit()
        #expect(watch.fate(waitingMilliseconds: 0) == .ended)
        #expect(WorkloadWatch.sentence(pid: 7, fate: .ended) == "netnsd is gone; the workload (pid 7) ended with it")
        #expect(WorkloadWatch.sentence(pid: 7, fate: .running) == "netnsd is gone and the workload (pid 7) is still running")
        #expect(WorkloadWatch.sentence(pid: nil, fate: nil) == "netnsd is gone (no workload had been spawned)")
    }

    @Test func noSuchProcessIsUnknownNotRunning() {
        // Past pid_max: pidfd_open fails, and the broker says it does not know.
        let fate = WorkloadWatch(pid: Int32.max).fate(waitingMilliseconds: 0)
        guard case .unknown(let reason) = fate else { Issue.record("\(fate)"); return }
        #expect(reason.contains("pidfd_open"), "\(reason)")
    }
}

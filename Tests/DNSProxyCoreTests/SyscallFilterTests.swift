import CShim
@testable import DNSProxyCore
import Foundation
import Testing

@Suite struct SyscallFilterTests {
    struct Outcome: Sendable {
        var installError: String?
        var prctlErrno: Int32 = 0
        var openErrno: Int32 = 0
        var mkdirErrno: Int32 = 0
        var unixSocketErrno: Int32 = 0
        var inetSocketOpened = false
        var pidMatches = false
    }

    /// The filter goes on a thread of its own (no TSYNC), so the test process stays
    /// unconfined; what that thread can then do is the proxy's allowlist.
    @Test func callsOutsideTheAllowlistFailWithEPERM() throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome = Outcome()
        let expectedPID = getpid()
        let thread = Thread {
            defer { done.signal() }
            do {
                try SyscallFilter.install(allThreads: false)
            } catch {
                outcome.installError = "\(error)"
                return
            }
            // prctl, openat and mkdirat are outside the allowlist. (no_new_privs itself is
            // checked on the running proxy in the integration tests, via /proc.)
            outcome.prctlErrno = cellos_get_no_new_privs() < 0 ? errno : 0
            let fd = open("/dev/null", O_RDONLY)
            outcome.openErrno = fd < 0 ? errno : 0
            if fd >= 0 { close(fd) }
            outcome.mkdirErrno = mkdir("/tmp/cellos-seccomp-test-\(expectedPID)", 0o700) < 0 ? errno : 0
            // socket(2) only for AF_INET/AF_INET6.
            let unix = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            outcome.unixSocketErrno = unix < 0 ? errno : 0
            if unix >= 0 { close(unix) }
            let inet = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            outcome.inetSocketOpened = inet >= 0
            if inet >= 0 { close(inet) }
            outcome.pidMatches = getpid() == expectedPID
        }
        thread.start()
        done.wait()
        #expect(outcome.installError == nil)
        #expect(outcome.prctlErrno == EPERM)
        #expect(outcome.openErrno == EPERM)
        #expect(outcome.mkdirErrno == EPERM)
        #expect(outcome.unixSocketErrno == EPERM)
        #expect(outcome.inetSocketOpened)
        #expect(outcome.pidMatches)
        // The rest of the process is not confined.
        let fd = open("/dev/null", O_RDONLY)
        #expect(fd >= 0)
        close(fd)
    }
}

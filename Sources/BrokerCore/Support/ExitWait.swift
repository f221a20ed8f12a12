#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// Waits for a child to terminate with a deadline, without reaping it: the
/// caller reaps with `waitpid` afterwards. A pidfd wakes the waiter the moment the
/// child ends (a sleep-and-poll loop would add up to its period to every helper
/// stop, i.e. to every cell); kernels without pidfd_open fall back to polling.
enum ExitWait {
    /// True once `pid` has terminated, false when `deadline` (monotonic ms) passed first.
    static func wait(for pid: pid_t, until deadline: Int64) -> Bool {
        let raw = cellos_pidfd_open(pid)
        guard raw >= 0 else { return pollingWait(for: pid, until: deadline) }
        let fd = OwnedFD(adopting: raw)
        let left = deadline - Monotonic.milliseconds()
        guard left > 0 else { return false }
        do { return try fd.poll(timeoutMilliseconds: Int(left)) != 0 } catch { return pollingWait(for: pid, until: deadline) }
    }

    private static func pollingWait(for pid: pid_t, until deadline: Int64) -> Bool {
        var info = siginfo_t()
        while Monotonic.milliseconds() < deadline {
            // WNOWAIT: look without reaping.
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid { return true }
            usleep(1_000)
        }
        return false
    }
}

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
        let fd = cellos_pidfd_open(pid)
        guard fd >= 0 else { return pollingWait(for: pid, until: deadline) }
        defer { close(fd) }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { return false }
            let ready = poll(&poller, 1, Int32(clamping: left))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return pollingWait(for: pid, until: deadline) }
        }
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

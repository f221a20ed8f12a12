#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// The broker and the capability-free helpers share a uid, and a workload may
/// too (or gain it); a dumpable process of that uid can be ptraced by it, and its
/// `/proc/<pid>/fd`, `environ` and `pidfd_getfd` are open to it. Non-dumpable, those
/// /proc files belong to root and ptrace access needs CAP_SYS_PTRACE.
///
/// It must be the very first act of `main`: `execve` makes every process dumpable
/// again, and any descriptor, socket or secret the process holds before the call
/// (flags name the events file and the signing key) is exposed until it is made.
public enum NonDumpable {
    /// `prctl(PR_SET_DUMPABLE, 0)`; on failure (which Linux has no reason for)
    /// prints `<program>: …` on stderr and exits 1, before anything else runs.
    public static func enterOrExit(program: String) {
        guard cellos_set_not_dumpable() == 0 else {
            StandardError.writeLine("\(program): \(SystemCallError("prctl(PR_SET_DUMPABLE, 0)"))")
            exit(1)
        }
    }

    /// Whether this process is dumpable now (PR_GET_DUMPABLE is not 0).
    public static var isDumpable: Bool { cellos_get_dumpable() != 0 }

    /// Whether process `pid` is dumpable, as far as /proc shows it: a
    /// non-dumpable process's /proc/PID files (not the directory) belong to root. nil when that cannot
    /// tell (a process whose effective uid is 0, or /proc/PID unreadable).
    public static func ofProcess(pid: Int32, effectiveUID: UInt32) -> Bool? {
        guard effectiveUID != 0 else { return nil }
        var info = stat()
        guard stat("/proc/\(pid)/status", &info) == 0 else { return nil }
        return info.st_uid != 0
    }
}

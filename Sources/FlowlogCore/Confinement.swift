#if canImport(Glibc)
import Glibc
#endif
import CCap
import HelperRuntime

/// What the listener confines itself to once its descriptors are open:
/// `no_new_privs` and a seccomp allowlist of the system calls the receive loop,
/// the Swift runtime and malloc make. Anything else fails with EPERM rather than
/// killing the process, so a missed call shows up as an error, not a crash.
public enum Confinement {
    /// The receive loop's system calls (by name, resolved for the running architecture).
    public static let allowedSystemCalls = [
        // the loop: NFLOG datagrams, the signalfd, events out, time stamps
        "read", "write", "writev", "recvfrom", "recvmsg", "poll", "ppoll", "clock_gettime", "gettimeofday",
        // memory, threads and the runtime
        "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "futex", "sched_yield", "getrandom",
        "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall", "getpid", "gettid", "tgkill",
        // exit and error reporting
        "close", "fstat", "newfstatat", "exit", "exit_group",
    ]

    /// Clears the permitted, effective and inheritable capability sets of the
    /// calling thread (libcap `cap_set_proc` with an empty set): a standalone
    /// listener needed CAP_NET_ADMIN to bind its group, and needs nothing after.
    public static func dropCapabilities() throws(ConfinementError) {
        guard let empty = cap_init() else { throw .capabilities(errno) }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        guard cap_set_proc(empty) == 0 else { throw .capabilities(errno) }
    }

    /// Sets `no_new_privs` and loads the allowlist. With `allThreads` the filter is
    /// synchronized to every thread of the process (SCMP_FLTATR_CTL_TSYNC);
    /// otherwise only the calling thread is confined.
    public static func apply(allThreads: Bool = true) throws(ConfinementError) {
        do { try SeccompAllowlist(systemCalls: allowedSystemCalls).install(allThreads: allThreads) } catch { throw .filter(error) }
    }
}

public enum ConfinementError: Error, Equatable, Sendable, CustomStringConvertible {
    case capabilities(Int32)
    case filter(SeccompInstallError)

    public var description: String {
        switch self {
        case .capabilities(let errno): "cap_set_proc(empty) failed: errno \(errno)"
        case .filter(let error): error.description
        }
    }
}

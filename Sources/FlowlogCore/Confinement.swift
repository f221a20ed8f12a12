#if canImport(Glibc)
import Glibc
#endif
import CCap
import CShim
import CSeccomp

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

    /// SCMP_ACT_ERRNO(EPERM) (a function-like macro in seccomp.h).
    static let denyWithEPERM: UInt32 = 0x0005_0000 | UInt32(EPERM)
    static let allow: UInt32 = 0x7FFF_0000

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
        guard cellos_set_no_new_privs() == 0 else { throw .noNewPrivs(errno) }
        guard let filter = seccomp_init(denyWithEPERM) else { throw .seccomp("seccomp_init", 0) }
        defer { seccomp_release(filter) }
        if allThreads {
            let rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1)
            guard rc == 0 else { throw .seccomp("SCMP_FLTATR_CTL_TSYNC", rc) }
        }
        for name in allowedSystemCalls {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { continue }  // not on this architecture
            let rc = seccomp_rule_add_array(filter, allow, number, 0, nil)
            guard rc == 0 else { throw .seccomp("seccomp_rule_add(\(name))", rc) }
        }
        let rc = seccomp_load(filter)
        guard rc == 0 else { throw .seccomp("seccomp_load", rc) }
    }
}

public enum ConfinementError: Error, Equatable, Sendable, CustomStringConvertible {
    case noNewPrivs(Int32)
    case capabilities(Int32)
    case seccomp(String, Int32)

    public var description: String {
        switch self {
        case .noNewPrivs(let errno): "prctl(PR_SET_NO_NEW_PRIVS) failed: errno \(errno)"
        case .capabilities(let errno): "cap_set_proc(empty) failed: errno \(errno)"
        case .seccomp(let step, let rc): "\(step) failed: \(rc)"
        }
    }
}

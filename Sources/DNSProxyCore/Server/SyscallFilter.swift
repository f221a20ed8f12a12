#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// The proxy's confinement after set-up: `no_new_privs` and a seccomp allowlist
/// (libseccomp) of exactly the system calls the serving loop, the event writer
/// thread, the allocator and process exit make. Anything else fails with EPERM
/// (an error the code already handles, rather than a kill that would lose the
/// queued events). New sockets (upstream TCP) are limited to AF_INET/AF_INET6.
public enum SyscallFilter {
    /// Everything the proxy calls once it serves. Names unknown to this kernel's
    /// libseccomp tables are skipped.
    public static let allowedCalls = [
        // serving loop
        "epoll_wait", "epoll_pwait", "epoll_ctl", "recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg", "sendmmsg",
        "accept4",
        "connect", "getsockopt", "fcntl", "read", "write", "close", "getrandom",
        // event writer thread and clocks (vDSO fallbacks)
        "clock_nanosleep", "nanosleep", "clock_gettime", "gettimeofday", "futex",
        // allocator, threads, signals, exit
        "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "rt_sigprocmask", "rt_sigreturn",
        "rt_sigaction", "sigaltstack", "sched_yield", "restart_syscall", "exit", "exit_group", "getpid",
        "gettid", "tgkill", "rseq", "set_robust_list",
    ]

    /// Sets `no_new_privs` and loads the filter for every thread of the process
    /// (`tsync`), or only the calling thread (tests). socket(2) is allowed for
    /// AF_INET/AF_INET6 only: an upstream TCP connection, nothing else.
    public static func install(allThreads: Bool = true, extraAllowed: [String] = []) throws(SeccompInstallError) {
        try SeccompAllowlist(systemCalls: allowedCalls + extraAllowed, socketFamilies: [AF_INET, AF_INET6]).install(allThreads: allThreads)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// The proxy's confinement once its listeners and events output are open:
/// `no_new_privs` and a seccomp allowlist of what the accept loop, the
/// connection threads (clone3/clone for new ones), the resolver and the relay
/// call. New sockets are AF_INET/AF_INET6 only (upstream TCP and resolver UDP):
/// no AF_UNIX, AF_NETLINK or AF_PACKET; no open, execve, ptrace, setns.
public enum EgressSyscallFilter {
    public static let allowedCalls = [
        // accept loop and signals
        "poll", "ppoll", "accept4", "read", "write", "close", "fcntl", "getsockname", "getpeername",
        // connections: resolver, upstream, relay
        "connect", "sendto", "recvfrom", "getsockopt", "setsockopt", "shutdown", "getrandom", "writev",
        // threads
        "clone", "clone3", "futex", "set_robust_list", "rseq", "madvise", "mprotect", "mmap", "munmap", "mremap", "brk",
        "sched_yield", "sched_getaffinity", "gettid", "getpid", "tgkill",
        // clocks, signals, exit
        "clock_gettime", "gettimeofday", "clock_nanosleep", "nanosleep", "rt_sigprocmask", "rt_sigreturn", "rt_sigaction",
        "sigaltstack", "restart_syscall", "exit", "exit_group",
    ]

    public static func install(allThreads: Bool = true) throws(SeccompInstallError) {
        try SeccompAllowlist(systemCalls: allowedCalls, socketFamilies: [AF_INET, AF_INET6]).install(allThreads: allThreads)
    }
}

import CSeccomp
#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

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

    public enum Failure: Error, CustomStringConvertible {
        case libseccomp(call: String, result: Int32)
        case noNewPrivs(SystemCallError)

        public var description: String {
            switch self {
            case .libseccomp(let call, let result): "\(call) failed: \(String(cString: strerror(-result))) [\(result)]"
            case .noNewPrivs(let error): error.description
            }
        }
    }

    static let actionAllow: UInt32 = 0x7FFF_0000
    static func actionErrno(_ code: Int32) -> UInt32 { 0x0005_0000 | (UInt32(code) & 0xFFFF) }

    /// Sets `no_new_privs` and loads the filter for every thread of the process
    /// (`tsync`), or only the calling thread (tests).
    public static func install(allThreads: Bool = true, extraAllowed: [String] = []) throws(Failure) {
        do throws(SystemCallError) {
            try systemCall("prctl(PR_SET_NO_NEW_PRIVS)") { cellos_set_no_new_privs() }
        } catch {
            throw .noNewPrivs(error)
        }
        guard let context = seccomp_init(actionErrno(EPERM)) else { throw .libseccomp(call: "seccomp_init", result: -ENOMEM) }
        defer { seccomp_release(context) }
        if allThreads {
            let result = seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1)
            guard result == 0 else { throw .libseccomp(call: "seccomp_attr_set(TSYNC)", result: result) }
        }
        // Every system call of the proxy runs through the filter: a binary tree instead of
        // a linear list of comparisons keeps that cost flat (libseccomp >= 2.5).
        _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for name in allowedCalls + extraAllowed {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { continue }
            let result = seccomp_rule_add_array(context, actionAllow, number, 0, nil)
            guard result == 0 else { throw .libseccomp(call: "seccomp_rule_add(\(name))", result: result) }
        }
        // socket(2) only for IP families: an upstream TCP connection, nothing else.
        let socketNumber = seccomp_syscall_resolve_name("socket")
        for family in [AF_INET, AF_INET6] {
            var compare = scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: UInt64(family), datum_b: 0)
            let result = seccomp_rule_add_array(context, actionAllow, socketNumber, 1, &compare)
            guard result == 0 else { throw .libseccomp(call: "seccomp_rule_add(socket)", result: result) }
        }
        let result = seccomp_load(context)
        guard result == 0 else { throw .libseccomp(call: "seccomp_load", result: result) }
    }
}

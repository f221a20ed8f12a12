#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import IPCWire

/// The workload's seccomp filters. The baseline allows everything except system
/// calls that change what the sandbox is (mounts, namespaces), inspect or alter
/// other processes or the kernel (ptrace, pidfd_getfd, process_vm_readv/writev,
/// kcmp, bpf, modules, kexec, perf, keyrings);
/// those fail with EPERM. The strict profile (`SeccompProfile.strict`) also
/// denies sockets of any family but AF_UNIX/AF_INET/AF_INET6 (netlink, packet,
/// vsock, … are kernel attack surface a workload in a cell has no use for),
/// `personality` (ASLR off, odd execution domains), `userfaultfd` and io_uring
/// (favourite exploit primitives).
///
/// libseccomp allocates, so the filter is compiled here, in the daemon, to BPF
/// bytes; the forked child only installs them (`prctl(PR_SET_SECCOMP)`), which is
/// async-signal-safe.
public enum BaselineSeccomp {
    public static let deniedSystemCalls = [
        "mount", "umount2", "pivot_root", "unshare", "setns", "ptrace", "bpf", "keyctl", "add_key", "request_key",
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "perf_event_open",
        // Reaching into another process the workload can see (same uid, or pid 1
        // of its namespace looking out): its descriptors, memory, and fd identity.
        "pidfd_getfd", "process_vm_readv", "process_vm_writev", "kcmp",
    ]

    /// What `strict` denies on top of the baseline, whatever the arguments.
    public static let strictlyDeniedSystemCalls = [
        "personality", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// TIOCSTI (asm-generic/ioctls.h), denied by the baseline with EPERM.
    public static let tiocsti: UInt32 = 0x5412

    /// The socket families `strict` still allows (AF_UNIX, AF_INET, AF_INET6).
    public static let strictSocketFamilies: Set<UInt64> = [UInt64(AF_UNIX), UInt64(AF_INET), UInt64(AF_INET6)]

    /// The compiled filter (an array of `struct sock_filter`, 8 bytes each).
    public static func compile(_ profile: SeccompProfile = .baseline) throws(SystemCallError) -> [UInt8] {
        // SCMP_ACT_ALLOW and SCMP_ACT_ERRNO(EPERM): function-like macros in seccomp.h.
        let allow: UInt32 = 0x7FFF_0000
        let denyWithEPERM: UInt32 = 0x0005_0000 | UInt32(EPERM)
        guard let context = seccomp_init(allow) else { throw SystemCallError("seccomp_init", errno: ENOMEM) }
        defer { seccomp_release(context) }
        func number(_ name: String) throws(SystemCallError) -> Int32 {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { throw SystemCallError("seccomp_syscall_resolve_name", errno: EINVAL, context: name) }
            return number
        }
        func deny(_ name: String, _ comparisons: [scmp_arg_cmp] = []) throws(SystemCallError) {
            let syscall = try number(name)
            let result = comparisons.withUnsafeBufferPointer { buffer in
                seccomp_rule_add_array(context, denyWithEPERM, syscall, UInt32(buffer.count), buffer.baseAddress)
            }
            guard result == 0 else { throw SystemCallError("seccomp_rule_add", errno: -result, context: name) }
        }
        for name in deniedSystemCalls { try deny(name) }
        // Typing into a terminal's input queue (the user's shell, if a tty is the
        // workload's stdio); setsid already keeps it from being the controlling tty.
        try deny("ioctl", [scmp_arg_cmp(arg: 1, op: SCMP_CMP_MASKED_EQ, datum_a: 0xFFFF_FFFF, datum_b: UInt64(Self.tiocsti))])
        if profile == .strict {
            for name in strictlyDeniedSystemCalls { try deny(name) }
            // One rule per denied family below the highest allowed one, and one for
            // everything above it (libseccomp ORs rules; comparisons within a rule AND).
            let highest = strictSocketFamilies.max()!
            for family in 0..<highest where !strictSocketFamilies.contains(family) {
                try deny("socket", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: family, datum_b: 0)])
            }
            try deny("socket", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_GT, datum_a: highest, datum_b: 0)])
        }
        var fds: [Int32] = [-1, -1]
        try systemCall("pipe") { pipe(&fds) }
        let readEnd = OwnedFD(adopting: fds[0])
        let writeEnd = OwnedFD(adopting: fds[1])
        // The filter is a few hundred bytes, far below the pipe's buffer, so writing
        // it all before reading cannot block.
        let exported = seccomp_export_bpf(context, writeEnd.rawValue)
        writeEnd.close()
        guard exported == 0 else { throw SystemCallError("seccomp_export_bpf", errno: -exported) }
        var program: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(readEnd.rawValue, raw.baseAddress, raw.count) } }
            guard count >= 0 else { throw SystemCallError("read(seccomp bpf)") }
            if count == 0 { break }
            program += chunk[0..<count]
        }
        guard !program.isEmpty, program.count % 8 == 0 else { throw SystemCallError("seccomp_export_bpf", errno: EINVAL, context: "\(program.count) bytes") }
        return program
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CSeccomp

/// The baseline denylist: everything is allowed except system calls that change
/// what a sandbox is (mounts, namespaces), inspect or alter other processes or the
/// kernel (ptrace, pidfd_getfd, process_vm_readv/writev, kcmp, bpf, modules,
/// kexec, perf, keyrings), and typing into a terminal (TIOCSTI); those fail with
/// EPERM. The workload's filter starts from it (NetnsdCore's `BaselineSeccomp`), and
/// the broker, whose children are the helpers, installs it on itself: none of them
/// has a use for these calls, and each is a way from a compromised process to
/// another one.
public enum SeccompDenylist {
    public static let deniedSystemCalls = [
        "mount", "umount2", "pivot_root", "unshare", "setns", "ptrace", "bpf", "keyctl", "add_key", "request_key",
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "perf_event_open",
        // Reaching into another process the caller can see (same uid, or pid 1
        // of its namespace looking out): its descriptors, memory, and fd identity.
        "pidfd_getfd", "process_vm_readv", "process_vm_writev", "kcmp",
    ]

    /// TIOCSTI (asm-generic/ioctls.h).
    public static let tiocsti: UInt32 = 0x5412

    /// A context that allows everything but the baseline; the caller may add more
    /// denials before loading or exporting it.
    public static func baseline() throws(SeccompInstallError) -> SeccompContext {
        let context = try SeccompContext(defaultAction: SeccompContext.allow)
        for name in deniedSystemCalls { try context.add(SeccompContext.denyWithEPERM, name) }
        // Typing into a terminal's input queue (the user's shell, if a tty is the
        // caller's stdio).
        try context.add(
            SeccompContext.denyWithEPERM, "ioctl",
            [scmp_arg_cmp(arg: 1, op: SCMP_CMP_MASKED_EQ, datum_a: 0xFFFF_FFFF, datum_b: UInt64(tiocsti))])
        return context
    }

    /// Loads the baseline on every thread of this process (`no_new_privs` first).
    /// It is inherited across fork and execve, so every child keeps it under its own filters.
    public static func install() throws(SeccompInstallError) {
        let context = try baseline()
        try context.synchronizeThreads()
        try context.load()
    }
}

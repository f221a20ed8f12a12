#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import IPCWire
import HelperRuntime

/// The workload's seccomp filters. The baseline is HelperRuntime's
/// `SeccompDenylist` (also the broker's own filter). The strict profile
/// (`SeccompProfile.strict`) also denies sockets of any family but
/// AF_UNIX/AF_INET/AF_INET6 (netlink, packet, vsock, … are kernel attack surface a
/// workload in a cell has no use for), `personality` (ASLR off, odd execution
/// domains), `userfaultfd` and io_uring (favourite exploit primitives).
///
/// libseccomp allocates, so the filter is compiled here, in the daemon, to BPF
/// bytes; the forked child only installs them (`prctl(PR_SET_SECCOMP)`), which is
/// async-signal-safe.
public enum BaselineSeccomp {
    /// What `strict` denies on top of the baseline, whatever the arguments.
    public static let strictlyDeniedSystemCalls = [
        "personality", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// The socket families `strict` still allows (AF_UNIX, AF_INET, AF_INET6).
    public static let strictSocketFamilies: Set<UInt64> = [UInt64(AF_UNIX), UInt64(AF_INET), UInt64(AF_INET6)]

    /// The compiled filter (an array of `struct sock_filter`, 8 bytes each).
    public static func compile(_ profile: SeccompProfile = .baseline) throws(SeccompInstallError) -> [UInt8] {
        let context = try SeccompDenylist.baseline()
        if profile == .strict {
            for name in strictlyDeniedSystemCalls { try context.add(SeccompContext.denyWithEPERM, name) }
            // One rule per denied family below the highest allowed one, and one for
            // everything above it (libseccomp ORs rules; comparisons within a rule AND).
            let highest = strictSocketFamilies.max()!
            for family in 0..<highest where !strictSocketFamilies.contains(family) {
                try context.add(SeccompContext.denyWithEPERM, "socket", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: family, datum_b: 0)])
            }
            try context.add(SeccompContext.denyWithEPERM, "socket", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_GT, datum_a: highest, datum_b: 0)])
        }
        return try context.exportBPF()
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import CShim
import IPCWire

/// A helper's confinement once it is set up: `no_new_privs` and a seccomp filter
/// (libseccomp) that allows exactly the listed system calls. Anything else fails
/// with EPERM rather than killing the process, so a missed call shows up as an
/// error the code handles, not a crash that loses queued events. Each helper
/// keeps its own list; this is the one installer.
public struct SeccompAllowlist: Sendable {
    /// System call names; names this architecture's libseccomp does not know are skipped.
    public var systemCalls: [String]
    /// socket(2) allowed only for these address families (argument 0); empty: not allowed.
    public var socketFamilies: [Int32]

    public init(systemCalls: [String], socketFamilies: [Int32] = []) {
        self.systemCalls = systemCalls
        self.socketFamilies = socketFamilies
    }

    /// Sets `no_new_privs` and loads the filter for every thread of the process
    /// (SCMP_FLTATR_CTL_TSYNC), or, with `allThreads: false`, the calling thread only (tests).
    public func install(allThreads: Bool = true) throws(SeccompInstallError) {
        let context = try SeccompContext(defaultAction: SeccompContext.denyWithEPERM)
        if allThreads { try context.synchronizeThreads() }
        for name in systemCalls { try context.add(SeccompContext.allow, name, skipUnknown: true) }
        for family in socketFamilies {
            try context.add(SeccompContext.allow, "socket", [scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: UInt64(family), datum_b: 0)])
        }
        try context.load()
    }
}

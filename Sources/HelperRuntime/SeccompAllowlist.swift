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

    /// SCMP_ACT_ALLOW and SCMP_ACT_ERRNO(EPERM): function-like macros in seccomp.h.
    static let allow: UInt32 = 0x7FFF_0000
    static let denyWithEPERM: UInt32 = 0x0005_0000 | (UInt32(EPERM) & 0xFFFF)

    /// Sets `no_new_privs` and loads the filter for every thread of the process
    /// (SCMP_FLTATR_CTL_TSYNC), or, with `allThreads: false`, the calling thread only (tests).
    public func install(allThreads: Bool = true) throws(SeccompInstallError) {
        do throws(SystemCallError) {
            try systemCall("prctl(PR_SET_NO_NEW_PRIVS)") { cellos_set_no_new_privs() }
        } catch {
            throw .noNewPrivs(error)
        }
        guard let context = seccomp_init(Self.denyWithEPERM) else { throw .libseccomp(call: "seccomp_init", result: -ENOMEM) }
        defer { seccomp_release(context) }
        if allThreads {
            let result = seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1)
            guard result == 0 else { throw .libseccomp(call: "seccomp_attr_set(TSYNC)", result: result) }
        }
        // Every system call of the helper runs through the filter: a binary tree instead
        // of a linear list of comparisons keeps that cost flat (libseccomp >= 2.5; older
        // versions refuse the attribute and keep the list, which is as strict).
        _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for name in systemCalls {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { continue }
            let result = seccomp_rule_add_array(context, Self.allow, number, 0, nil)
            guard result == 0 else { throw .libseccomp(call: "seccomp_rule_add(\(name))", result: result) }
        }
        if !socketFamilies.isEmpty {
            let socketNumber = seccomp_syscall_resolve_name("socket")
            for family in socketFamilies {
                var compare = scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: UInt64(family), datum_b: 0)
                let result = seccomp_rule_add_array(context, Self.allow, socketNumber, 1, &compare)
                guard result == 0 else { throw .libseccomp(call: "seccomp_rule_add(socket, family \(family))", result: result) }
            }
        }
        let result = seccomp_load(context)
        guard result == 0 else { throw .libseccomp(call: "seccomp_load", result: result) }
    }
}

public enum SeccompInstallError: Error, Equatable, Sendable, CustomStringConvertible {
    case noNewPrivs(SystemCallError)
    /// A libseccomp call failed with `result` (a negative errno).
    case libseccomp(call: String, result: Int32)

    public var description: String {
        switch self {
        case .noNewPrivs(let error): error.description
        case .libseccomp(let call, let result): "\(call) failed: \(String(cString: strerror(-result))) [\(result)]"
        }
    }
}

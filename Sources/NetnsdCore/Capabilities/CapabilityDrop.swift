#if canImport(Glibc)
import Glibc
#endif
import CCap
import CShim
import HelperRuntime
import IPCWire

/// Reduces this process to a declared capability set: every other capability
/// leaves the bounding set (so no later `execve` can regain it), the ambient set
/// is cleared, effective and permitted become exactly the declared set with an
/// empty inheritable set, and `no_new_privs` is set.
///
/// Capability sets are per thread, so this must run while the process has a
/// single thread (at startup, before any namespace thread exists); threads created
/// afterwards inherit the reduced sets. It refuses to run otherwise.
public enum CapabilityDrop {
    public static func restrict(to declared: [Capability]) throws(CapabilityError) {
        let threads: Int
        do { threads = try ProcessThreads.count() } catch { throw .system(error) }
        guard threads == 1 else { throw .multiThreaded(threads: threads) }

        let current = try CapabilityState.ofThisThread()
        for capability in declared where !current.permitted.contains(capability.number) {
            throw .notPermitted(capability)
        }

        let keep = Set(declared.map(\.number))
        // PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, so the bounding
        // set is reduced first, while everything this process holds is still there.
        for number in 0..<cap_max_bits() where !keep.contains(number) && cap_get_bound(number) == 1 {
            guard cap_drop_bound(number) == 0 else {
                throw .system(SystemCallError("prctl(PR_CAPBSET_DROP)", context: Self.name(of: number)))
            }
        }
        // PR_CAP_AMBIENT_CLEAR_ALL.
        guard cap_reset_ambient() == 0 else { throw .system(SystemCallError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)")) }

        guard let wanted = cap_init() else { throw .system(SystemCallError("cap_init")) }
        defer { cap_free(UnsafeMutableRawPointer(wanted)) }
        var values = declared.map { cap_value_t($0.number) }
        for flag in [CAP_EFFECTIVE, CAP_PERMITTED] where !values.isEmpty {
            guard cap_set_flag(wanted, flag, Int32(values.count), &values, CAP_SET) == 0 else {
                throw .system(SystemCallError("cap_set_flag"))
            }
        }
        guard cap_set_proc(wanted) == 0 else { throw .system(SystemCallError("cap_set_proc")) }
        // The daemon never needs to gain privilege through execve; with
        // no_new_privs nothing it might exec could (set-uid or file capabilities).
        guard cellos_set_no_new_privs() == 0 else { throw .system(SystemCallError("prctl(PR_SET_NO_NEW_PRIVS)")) }
    }

    static func name(of number: cap_value_t) -> String {
        guard let raw = cap_to_name(number) else { return "capability \(number)" }
        defer { cap_free(raw) }
        return String(cString: raw).uppercased()
    }
}

/// The effective/permitted/inheritable sets of the calling thread, as numbers.
struct CapabilityState {
    var effective: Set<Int32> = []
    var permitted: Set<Int32> = []
    var inheritable: Set<Int32> = []

    static func ofThisThread() throws(CapabilityError) -> CapabilityState {
        guard let caps = cap_get_proc() else { throw .system(SystemCallError("cap_get_proc")) }
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        var state = CapabilityState()
        for number in 0..<cap_max_bits() {
            for (flag, path) in [(CAP_EFFECTIVE, \CapabilityState.effective), (CAP_PERMITTED, \.permitted), (CAP_INHERITABLE, \.inheritable)] {
                var value = CAP_CLEAR
                if cap_get_flag(caps, number, flag, &value) == 0 && value == CAP_SET {
                    state[keyPath: path].insert(number)
                }
            }
        }
        return state
    }
}

public enum CapabilityError: Error, Equatable, Sendable, CustomStringConvertible {
    case multiThreaded(threads: Int)
    case notPermitted(Capability)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .multiThreaded(let threads):
            "cannot drop capabilities: the process has \(threads) threads and capability sets are per thread"
        case .notPermitted(let capability):
            "declared capability \(capability) is not in this process's permitted set (run as root)"
        case .system(let error): "cannot drop capabilities: \(error)"
        }
    }
}

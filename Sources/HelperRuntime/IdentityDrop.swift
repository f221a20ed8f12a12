#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// Leaving root for good, shared by the broker and the helpers started by hand
/// as root (like dnsdist's `-u`): started as root, drop every capability from the
/// bounding set, clear the ambient set and the supplementary groups, and become
/// the target uid/gid, which empties the other sets; started as anyone else, keep
/// that user and clear the ambient set. Either way set no_new_privs, then check
/// `/proc/self/status` rather than trust the calls.
///
/// Capability sets and no_new_privs are per thread, so this runs while the process
/// has one thread; it refuses otherwise.
public enum IdentityDrop {
    /// The account cellos installs for the broker and helpers (sysusers.d).
    public static let accountName = "cellos-broker"

    /// `cellos-broker` with its primary group when that user exists, else nobody:nogroup.
    public static func defaultTarget() -> (uid: UInt32, gid: UInt32) {
        AccountNames.user(named: accountName) ?? (65534, 65534)
    }

    @discardableResult
    public static func apply(uid: UInt32, gid: UInt32) throws(IdentityDropError) -> ProcessStatus {
        let threads: Int
        do { threads = try ProcessThreads.count() } catch { throw .system(error) }
        guard threads == 1 else { throw .multiThreaded(threads) }
        let wasRoot = geteuid() == 0
        if wasRoot {
            // Bounding set first: dropping needs CAP_SETPCAP, gone after setresuid.
            try call("prctl(PR_CAPBSET_DROP)") { cellos_drop_bounding_set() }
            try call("prctl(PR_CAP_AMBIENT_CLEAR_ALL)") { cellos_clear_ambient() }
            try call("setgroups") { cellos_clear_groups() }
            try call("setresgid") { cellos_setresgid(gid) }
            // Leaving uid 0 clears the permitted, effective and ambient sets (no SECBIT_KEEP_CAPS).
            try call("setresuid") { cellos_setresuid(uid) }
        } else {
            try call("prctl(PR_CAP_AMBIENT_CLEAR_ALL)") { cellos_clear_ambient() }
        }
        try call("prctl(PR_SET_NO_NEW_PRIVS)") { cellos_set_no_new_privs() }

        let status: ProcessStatus
        do { status = try ProcessStatus.ofThisProcess() } catch { throw .unverifiable(error.description) }
        let held = status.effective | status.permitted | status.inheritable | status.ambient | (wasRoot ? status.bounding : 0)
        guard held == 0 else { throw .stillPrivileged(mask: held) }
        guard status.noNewPrivileges else { throw .unverifiable("no_new_privs is not set") }
        if wasRoot {
            guard status.uids.allSatisfy({ $0 == uid }), status.gids.allSatisfy({ $0 == gid }) else {
                throw .unverifiable("ids are uid \(status.uids) gid \(status.gids), expected \(uid):\(gid)")
            }
        }
        return status
    }

    private static func call(_ name: String, _ body: () -> Int32) throws(IdentityDropError) {
        guard body() == 0 else { throw .system(SystemCallError(name)) }
    }
}

public enum IdentityDropError: Error, Equatable, Sendable, CustomStringConvertible {
    case multiThreaded(Int)
    case system(SystemCallError)
    case stillPrivileged(mask: UInt64)
    case unverifiable(String)

    public var description: String {
        switch self {
        case .multiThreaded(let count): "cannot drop privileges with \(count) threads running (capabilities are per thread)"
        case .system(let error): "privilege drop failed: \(error)"
        case .stillPrivileged(let mask): "still holds capabilities after the drop (mask \(CapabilityMask.hex(mask)))"
        case .unverifiable(let reason): "privilege drop not confirmed: \(reason)"
        }
    }
}

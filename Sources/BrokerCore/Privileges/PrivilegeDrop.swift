#if canImport(Glibc)
import Glibc
#endif
import CShim
import HelperRuntime
import IPCWire

/// The broker runs unprivileged (DESIGN.md §1): started as root it becomes its
/// configured user and keeps no capability; started as another user it keeps that
/// user. Either way it sets no_new_privs and then checks `/proc/self/status`
/// instead of trusting the calls: every capability set empty, every id the target.
///
/// Capability sets and no_new_privs are per thread, so this must run while the
/// process has one thread (first thing in `main`); it refuses otherwise.
public enum PrivilegeDrop {
    public struct Identity: Equatable, Sendable, CustomStringConvertible {
        public var uid: UInt32
        public var gid: UInt32

        public init(uid: UInt32, gid: UInt32) {
            self.uid = uid
            self.gid = gid
        }

        public var description: String { "\(uid):\(gid)" }

        /// nobody:nogroup, the user a root-started broker becomes by default.
        public static let nobody = Identity(uid: 65534, gid: 65534)

        /// `UID:GID` (numbers; the broker reads no user database).
        public static func parse(_ text: String) throws(SpecError) -> Identity {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let uid = UInt32(parts[0]), let gid = UInt32(parts[1]), uid != UInt32.max, gid != UInt32.max else {
                throw SpecError(field: "--user", value: JSONValue.string(text).excerpt, problem: "is not UID:GID (numbers, e.g. 65534:65534)")
            }
            guard uid != 0 else { throw SpecError(field: "--user", value: JSONValue.string(text).excerpt, problem: "names root; the broker never runs as root") }
            return Identity(uid: uid, gid: gid)
        }
    }

    /// Drops to `target` (when started as root) and returns the verified status.
    public static func apply(target: Identity = .nobody) throws(PrivilegeDropError) -> ProcessStatus {
        let threads: Int
        do { threads = try ProcessThreads.count() } catch { throw .system(error) }
        guard threads == 1 else { throw .multiThreaded(threads) }
        let wasRoot = geteuid() == 0
        if wasRoot {
            // Bounding set first: dropping needs CAP_SETPCAP, gone after setresuid.
            try call("prctl(PR_CAPBSET_DROP)") { cellos_drop_bounding_set() }
            try call("prctl(PR_CAP_AMBIENT_CLEAR_ALL)") { cellos_clear_ambient() }
            try call("setgroups") { cellos_clear_groups() }
            try call("setresgid") { cellos_setresgid(target.gid) }
            // Leaving uid 0 clears the permitted, effective and ambient sets (no SECBIT_KEEP_CAPS).
            try call("setresuid") { cellos_setresuid(target.uid) }
        } else {
            try call("prctl(PR_CAP_AMBIENT_CLEAR_ALL)") { cellos_clear_ambient() }
        }
        try call("prctl(PR_SET_NO_NEW_PRIVS)") { cellos_set_no_new_privs() }

        let status: ProcessStatus
        do { status = try AuditRunner.status(pid: getpid()) } catch { throw .unverifiable(error.description) }
        let held = status.effective | status.permitted | status.inheritable | status.ambient | (wasRoot ? status.bounding : 0)
        guard held == 0 else { throw .stillPrivileged(CapabilityNames.names(in: held)) }
        guard status.noNewPrivileges else { throw .unverifiable("no_new_privs is not set") }
        if wasRoot {
            guard status.uids.allSatisfy({ $0 == target.uid }), status.gids.allSatisfy({ $0 == target.gid }) else {
                throw .unverifiable("ids are uid \(status.uids) gid \(status.gids), expected \(target)")
            }
        }
        return status
    }

    private static func call(_ name: String, _ body: () -> Int32) throws(PrivilegeDropError) {
        guard body() == 0 else { throw .system(SystemCallError(name)) }
    }
}

public enum PrivilegeDropError: Error, Equatable, Sendable, CustomStringConvertible {
    case multiThreaded(Int)
    case system(SystemCallError)
    case stillPrivileged([String])
    case unverifiable(String)

    public var description: String {
        switch self {
        case .multiThreaded(let count): "cannot drop privileges with \(count) threads running (capabilities are per thread)"
        case .system(let error): "privilege drop failed: \(error)"
        case .stillPrivileged(let names): "still holds capabilities after the drop: \(names.joined(separator: ", "))"
        case .unverifiable(let reason): "privilege drop not confirmed: \(reason)"
        }
    }
}

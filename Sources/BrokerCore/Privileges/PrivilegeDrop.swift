#if canImport(Glibc)
import Glibc
#endif
import CShim
import HelperRuntime
import IPCWire

/// The broker runs unprivileged: started as root it becomes its
/// configured user and keeps no capability; started as another user it keeps that
/// user. Either way it sets no_new_privs, loads the baseline seccomp denylist
/// (`SeccompDenylist`: no mounts, namespaces, ptrace, pidfd_getfd, … for the broker
/// or the helpers it starts, which inherit it), and then checks `/proc/self/status`
/// instead of trusting the calls: every capability set empty, every id the target,
/// a seccomp filter on.
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

        /// The default `--user`: `cellos-broker` (with its primary group) when that
        /// user exists, nobody:nogroup otherwise.
        public static var defaultTarget: Identity {
            let target = IdentityDrop.defaultTarget()
            return Identity(uid: target.uid, gid: target.gid)
        }

        /// The target without `--user`: `defaultTarget` when started as root. Started as
        /// anyone else nothing is dropped and the target is unused, so the account lookup
        /// (NSS; libnss_systemd alone takes about a millisecond) is skipped.
        public static var implicitTarget: Identity {
            geteuid() == 0 ? defaultTarget : Identity(uid: getuid(), gid: getgid())
        }

        /// `USER`, `USER:GROUP` or `UID:GID` (names resolved now, before any drop); never root.
        public static func parse(_ text: String, flag: String = "--user") throws(SpecError) -> Identity {
            let resolved: (uid: UInt32, gid: UInt32)
            do { resolved = try AccountNames.identity(text) } catch {
                throw SpecError(field: flag, value: JSONValue.string(text).excerpt, problem: "is not usable: \(error)")
            }
            guard resolved.uid != 0 else { throw SpecError(field: flag, value: JSONValue.string(text).excerpt, problem: "names root; the broker never runs as root") }
            return Identity(uid: resolved.uid, gid: resolved.gid)
        }
    }

    /// Drops to `target` (when started as root), loads the denylist, and returns
    /// the verified status (`IdentityDrop`, shared with the helpers).
    public static func apply(target: Identity = .nobody) throws(PrivilegeDropError) -> ProcessStatus {
        try dropIdentity(target: target)
        do { try SeccompDenylist.install() } catch { throw .seccomp(error) }
        let status: ProcessStatus
        do { status = try ProcessStatus.ofThisProcess() } catch { throw .unverifiable("/proc/self/status: \(error)") }
        guard status.seccompMode == 2 else { throw .unverifiable("seccomp is \(status.seccompDescription) after loading the filter") }
        // unshare(0) changes nothing and succeeds unfiltered: EPERM proves the
        // loaded filter is the denylist, not merely some filter.
        guard cellos_unshare(0) == -1, errno == EPERM else { throw .unverifiable("the seccomp filter does not deny unshare(2)") }
        return status
    }

    private static func dropIdentity(target: Identity) throws(PrivilegeDropError) {
        do { _ = try IdentityDrop.apply(uid: target.uid, gid: target.gid) } catch {
            switch error {
            case .multiThreaded(let count): throw .multiThreaded(count)
            case .system(let failure): throw .system(failure)
            case .stillPrivileged(let mask): throw .stillPrivileged(CapabilityNames.names(in: mask))
            case .unverifiable(let reason): throw .unverifiable(reason)
            }
        }
    }
}

public enum PrivilegeDropError: Error, Equatable, Sendable, CustomStringConvertible {
    case multiThreaded(Int)
    case system(SystemCallError)
    case stillPrivileged([String])
    case unverifiable(String)
    case seccomp(SeccompInstallError)

    public var description: String {
        switch self {
        case .multiThreaded(let count): "cannot drop privileges with \(count) threads running (capabilities are per thread)"
        case .system(let error): "privilege drop failed: \(error)"
        case .stillPrivileged(let names): "still holds capabilities after the drop: \(names.joined(separator: ", "))"
        case .unverifiable(let reason): "privilege drop not confirmed: \(reason)"
        case .seccomp(let error): "loading the broker's seccomp filter failed: \(error)"
        }
    }
}

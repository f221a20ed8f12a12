#if canImport(Glibc)
import Glibc
#endif

/// A capability-free helper started by hand as root (`cellos-dnsproxy --listen`,
/// `cellos-flowlog --group`): it opens what its mode needs as root, then becomes
/// `--user` (default `IdentityDrop.defaultTarget()`) holding nothing. Started as
/// any other user, or with `--allow-capabilities` (the rare case that wants them
/// kept), nothing changes. Inherited sockets need no root to open, so a root start
/// with them stays the deployment mistake `CapabilityRefusal` reports.
public enum RootStart {
    /// Whom to become, or nil when this process should stay who it is.
    public static func target(user: AccountIdentity?, allowCapabilities: Bool, standalone: Bool) -> AccountIdentity? {
        guard standalone, geteuid() == 0, !allowCapabilities else { return nil }
        if let user { return user }
        let fallback = IdentityDrop.defaultTarget()
        return AccountIdentity(uid: fallback.uid, gid: fallback.gid)
    }

    /// `resolve`, or a log line naming `--user` and exit status 2 (a usage error).
    public static func resolveFlag(user text: String?, program: String) -> AccountIdentity? {
        do { return try resolve(user: text) } catch {
            LogWriter.write("--user: \(error)", priority: .error, program: program)
            exit(2)
        }
    }

    /// The `--user` value, resolved before anything else runs; root is refused.
    public static func resolve(user text: String?) throws(AccountNameError) -> AccountIdentity? {
        guard let text else { return nil }
        let identity = try AccountNames.identity(text)
        guard identity.uid != 0 else { throw .root(text) }
        return AccountIdentity(uid: identity.uid, gid: identity.gid)
    }
}

/// A uid and gid to become.
public struct AccountIdentity: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

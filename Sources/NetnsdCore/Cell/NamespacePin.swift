#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// A network namespace bind-mounted at `/run/netns/<name>`, where `ip netns`
/// finds it, so an operator can `ip netns exec <name> …` into a cell. Pinning
/// also keeps the namespace alive until the pin is removed.
public struct NamespacePin: Sendable, Equatable {
    public static let directory = "/run/netns"
    public let path: String
    /// Its entry in the daemon's pin ledger (`StateDirectory.pinLedger`), nil without one.
    public let record: String?

    /// Pins `namespace` under `name`; refuses a name that is already taken. With
    /// `ledger`, an entry named `name` is made there first (a crash right after
    /// the mount still leaves it on record for the restart sweep).
    public static func pin(_ namespace: borrowing OwnedFD, name: String, ledger: String? = nil) throws(SystemCallError) -> NamespacePin {
        let path = "\(directory)/\(name)"
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw SystemCallError("mkdir", context: directory)
        }
        let record = ledger.map { "\($0)/\(name)" }
        if let record {
            do { try OwnedFD.open(record, O_RDONLY | O_CREAT, mode: 0o444).close() } catch {
                throw SystemCallError("open(O_CREAT)", errno: error.errno, context: record)
            }
        }
        // The mount point: an empty file, created exclusively so two cells can
        // never share (or steal) one name.
        do { try OwnedFD.open(path, O_RDONLY | O_CREAT | O_EXCL, mode: 0o444).close() } catch {
            if let record { unlink(record) }
            throw SystemCallError("open(O_CREAT|O_EXCL)", errno: error.errno, context: path)
        }
        // /proc/self/fd/N names the namespace itself (an nsfs file), which is what
        // a bind mount needs; the descriptor may belong to a namespace no thread is in.
        guard mount("/proc/self/fd/\(namespace.rawValue)", path, nil, UInt(MS_BIND), nil) == 0 else {
            let error = SystemCallError("mount(MS_BIND)", context: path)
            unlink(path)
            if let record { unlink(record) }
            throw error
        }
        return NamespacePin(path: path, record: record)
    }

    /// Unmounts and removes the pin. Idempotent: an absent pin is not an error.
    public func remove() throws(SystemCallError) {
        if umount2(path, Int32(MNT_DETACH)) != 0 && errno != EINVAL && errno != ENOENT {
            throw SystemCallError("umount2(MNT_DETACH)", context: path)
        }
        if unlink(path) != 0 && errno != ENOENT {
            throw SystemCallError("unlink", context: path)
        }
        if let record { unlink(record) }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Names or numbers wherever a uid or gid is taken (`--allow-uid`, `--allow-gid`,
/// `--user`), looked up in the user and group databases (getpwnam_r/getgrnam_r, so
/// NSS works) while the process still runs as whoever started it: before any
/// privilege drop, and before a seccomp filter could deny what NSS needs.
public enum AccountNames {
    /// A uid: digits are a number, anything else a user name.
    public static func uid(_ text: String) throws(AccountNameError) -> UInt32 {
        if let number = try number(text) { return number }
        guard let user = user(named: text) else { throw .unknownUser(text) }
        return user.uid
    }

    /// A gid: digits are a number, anything else a group name.
    public static func gid(_ text: String) throws(AccountNameError) -> UInt32 {
        if let number = try number(text) { return number }
        guard let gid = group(named: text) else { throw .unknownGroup(text) }
        return gid
    }

    /// `USER` (its primary group), or `USER:GROUP`; each part a name or a number.
    public static func identity(_ text: String) throws(AccountNameError) -> (uid: UInt32, gid: UInt32) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1:
            guard try number(text) == nil else { throw .numberWithoutGroup(text) }
            guard let user = user(named: text) else { throw .unknownUser(text) }
            return user
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty:
            return (try uid(parts[0]), try gid(parts[1]))
        default:
            throw .malformed(text)
        }
    }

    /// The user's uid and primary gid, or nil when there is no such user.
    public static func user(named name: String) -> (uid: UInt32, gid: UInt32)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        return withLookupBuffer { buffer in
            guard getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) == 0, result != nil else { return nil }
            return (entry.pw_uid, entry.pw_gid)
        }
    }

    public static func group(named name: String) -> UInt32? {
        var entry = SwiftGlibc.group()
        var result: UnsafeMutablePointer<SwiftGlibc.group>?
        return withLookupBuffer { buffer in
            guard getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) == 0, result != nil else { return nil }
            return entry.gr_gid
        }
    }

    /// Nil for a name; digits must be an id, and not (uid_t)-1, which the kernel
    /// reads as "unchanged".
    static func number(_ text: String) throws(AccountNameError) -> UInt32? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        guard let value = UInt32(text), value != UInt32.max else { throw .invalidNumber(text) }
        return value
    }

    /// Large enough for big groups' member lists; getpw*_r fail with ERANGE otherwise.
    private static func withLookupBuffer<T>(_ body: (UnsafeMutableBufferPointer<CChar>) -> T?) -> T? {
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        return buffer.withUnsafeMutableBufferPointer { body($0) }
    }
}

public enum AccountNameError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownUser(String)
    case unknownGroup(String)
    case numberWithoutGroup(String)
    case malformed(String)
    case root(String)
    case invalidNumber(String)

    public var description: String {
        switch self {
        case .unknownUser(let name): "no user '\(name)' in the user database"
        case .unknownGroup(let name): "no group '\(name)' in the group database"
        case .numberWithoutGroup(let text): "'\(text)' is a uid without a group: give UID:GID"
        case .malformed(let text): "'\(text)' is not USER, USER:GROUP or UID:GID"
        case .root(let text): "'\(text)' names root, which this process never stays"
        case .invalidNumber(let text): "'\(text)' is not a valid id (0-4294967294)"
        }
    }
}

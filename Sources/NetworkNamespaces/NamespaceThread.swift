#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// Network namespaces are per thread: `setns(2)`/`unshare(2)` move only the calling
/// thread. Code that must run "inside" a namespace (binding a socket there, say)
/// runs on a fresh OS thread that enters it, runs the closure and exits, so no
/// pooled thread is ever left in the wrong namespace.
public enum NetworkNamespace {
    /// Runs `body` on a new thread that has entered the network namespace `namespace`.
    public static func run<T>(in namespace: borrowing OwnedFD, _ body: () throws -> T) throws -> T {
        let raw = namespace.rawValue
        return try onFreshThread {
            try systemCall("setns(CLONE_NEWNET)") { cellos_setns(raw, cellos_clone_newnet()) }
            return try body()
        }
    }

    /// Creates a new network namespace on a fresh thread and runs `body` inside it
    /// with the namespace's descriptor (`/proc/thread-self/ns/net`). The namespace
    /// lives as long as that descriptor or anything bound inside it does.
    public static func create<T>(_ body: (borrowing OwnedFD) throws -> T) throws -> T {
        try onFreshThread {
            try systemCall("unshare(CLONE_NEWNET)") { cellos_unshare(cellos_clone_newnet()) }
            let namespace = try open(path: "/proc/thread-self/ns/net")
            return try body(namespace)
        }
    }

    /// Opens a namespace file (e.g. `/proc/<pid>/ns/net`, `/run/netns/<name>`) and
    /// checks it is a network namespace.
    public static func open(path: String) throws -> OwnedFD {
        let fd = OwnedFD(adopting: try systemCall("open", context: path) { Glibc.open(path, O_RDONLY | O_CLOEXEC) })
        guard isNetworkNamespace(fd) else { throw NamespaceError.notANetworkNamespace(path) }
        return fd
    }

    /// Whether `fd` refers to a network namespace (`NS_GET_NSTYPE`).
    public static func isNetworkNamespace(_ fd: borrowing OwnedFD) -> Bool {
        cellos_ns_get_type(fd.rawValue) == cellos_clone_newnet()
    }

    /// The identity of the namespace this process was started in (its main thread's).
    public static func hostIdentity() throws -> FileIdentity {
        try open(path: "/proc/self/ns/net").identity()
    }

    /// Runs `body` on a new pthread and waits for it; the thread never runs anything else.
    static func onFreshThread<T>(_ body: () throws -> T) throws -> T { try PosixThread.run(body) }
}

public enum NamespaceError: Error, Equatable, CustomStringConvertible {
    case notANetworkNamespace(String)

    public var description: String {
        switch self {
        case .notANetworkNamespace(let what): "\(what) is not a network namespace"
        }
    }
}

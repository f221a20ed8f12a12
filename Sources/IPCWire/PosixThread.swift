#if canImport(Glibc)
import Glibc
#endif

/// The suite's one pthread wrapper (the libraries avoid Foundation's `Thread`): a
/// closure carried across `pthread_create`, retained until the thread ran it.
public enum PosixThread {
    private final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// `pthread_create` running `body`, joinable (`pthread_join` the handle) unless
    /// `detached`. `context` names the thread in the error.
    @discardableResult
    public static func start(
        detached: Bool = false, context: String? = nil, _ body: @escaping () -> Void
    ) throws(SystemCallError) -> pthread_t {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if detached { pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED)) }
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard created == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemCallError("pthread_create", errno: created, context: context)
        }
        return thread
    }

    /// Runs `body` on a new pthread and waits for it: a thread that never runs
    /// anything else (what setns/unshare need). The caller blocks in `pthread_join`
    /// the whole time, so nothing runs concurrently with `body`.
    public static func run<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, any Error>?
        try withoutActuallyEscaping(body) { body in
            let thread = try start { result = Result { try body() } }
            pthread_join(thread, nil)
        }
        return try result!.get()
    }
}

/// A detached pthread running one closure: netnsd's accept loop, one thread per
/// connection, the workload reapers.
public enum DetachedThread {
    public static func start(_ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
        try PosixThread.start(detached: true, body)
    }
}

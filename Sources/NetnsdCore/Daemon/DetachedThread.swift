#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// A detached pthread running one closure (the core library avoids Foundation's
/// `Thread`). Used for the accept loop and one thread per connection.
enum DetachedThread {
    static func start(_ body: @escaping @Sendable () -> Void) throws(SystemCallError) {
        final class Box: @unchecked Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw SystemCallError("pthread_create", errno: created)
        }
    }
}

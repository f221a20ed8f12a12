#if canImport(Glibc)
import Glibc
#endif
import CNftables

/// Frees finished libnftables contexts on a background thread.
///
/// `nft_ctx_free` closes the context's nfnetlink socket, and the kernel makes that
/// close wait for nf_tables' deferred transaction cleanup (an RCU grace period,
/// about 11 ms under `strace -T`). Every command a session ran has already been
/// committed and acknowledged when the session ends, so the free itself changes
/// nothing the cell can observe: it only releases memory, the socket and (for a
/// created cell) the socket's reference on the netns. Doing it here keeps that
/// wait off the request path.
public final class NftablesReaper: @unchecked Sendable {
    public static let shared = NftablesReaper()

    // Guarded by `lock`; `changed` is signalled when work arrives and when it is done.
    private var lock = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var pending: [UInt] = []
    private var freeing = 0
    private var threadStarted = false

    private init() {
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&changed, nil)
    }

    /// Hands `context` over to be freed; frees it right here if no reaper thread
    /// can be started (correct, only slower).
    func free(_ context: OpaquePointer) {
        pthread_mutex_lock(&lock)
        if !threadStarted {
            threadStarted = (try? DetachedThread.start { [self] in reap() }) != nil
        }
        guard threadStarted else {
            pthread_mutex_unlock(&lock)
            nft_ctx_free(context)
            return
        }
        pending.append(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(context))))
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&lock)
    }

    /// Blocks until every context handed over so far is freed (tests that count
    /// the process's descriptors call it first).
    public func waitUntilIdle() {
        pthread_mutex_lock(&lock)
        while !pending.isEmpty || freeing > 0 { pthread_cond_wait(&changed, &lock) }
        pthread_mutex_unlock(&lock)
    }

    private func reap() {
        pthread_mutex_lock(&lock)
        while true {
            while pending.isEmpty { pthread_cond_wait(&changed, &lock) }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            freeing = batch.count
            pthread_mutex_unlock(&lock)
            for address in batch {
                nft_ctx_free(OpaquePointer(bitPattern: address))
            }
            pthread_mutex_lock(&lock)
            freeing = 0
            pthread_cond_broadcast(&changed)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The bounded set of live connections: a slot per connection thread, holding
/// its client and upstream descriptors so that stopping can shut them all down
/// (which wakes every thread's poll). Descriptors are closed only after they
/// left the registry, under its lock, so `shutdownAll` never touches a number
/// the kernel has already handed to someone else.
final class ConnectionRegistry: Sendable {
    struct Slot {
        var client: Int32 = -1
        var upstream: Int32 = -1
    }

    private let slots: Mutex<[Slot]>
    private let stopping = Atomic<Bool>(false)

    init(capacity: Int) {
        slots = Mutex([Slot](repeating: Slot(), count: capacity))
    }

    /// A free slot for `client`, or nil when all are taken (or stopping).
    func acquire(client: Int32) -> Int? {
        guard !stopping.load(ordering: .acquiring) else { return nil }
        return slots.withLock { slots in
            guard let free = slots.firstIndex(where: { $0.client < 0 }) else { return nil }
            slots[free].client = client
            return free
        }
    }

    func attach(_ slot: Int, upstream: Int32) {
        slots.withLock { slots in
            slots[slot].upstream = upstream
            if stopping.load(ordering: .acquiring) { _ = shutdown(upstream, Int32(SHUT_RDWR)) }
        }
    }

    func release(_ slot: Int, upstream: Int32) {
        slots.withLock { slots in
            slots[slot].upstream = -1
            close(upstream)
        }
    }

    /// Frees the slot and closes the client.
    func finish(_ slot: Int) {
        slots.withLock { slots in
            close(slots[slot].client)
            slots[slot] = Slot()
        }
    }

    var active: Int { slots.withLock { $0.count(where: { $0.client >= 0 }) } }

    func shutdownAll() {
        stopping.store(true, ordering: .releasing)
        slots.withLock { slots in
            for slot in slots where slot.client >= 0 {
                _ = shutdown(slot.client, Int32(SHUT_RDWR))
                if slot.upstream >= 0 { _ = shutdown(slot.upstream, Int32(SHUT_RDWR)) }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire
import Synchronization

/// The bounded set of live connections: a slot per connection thread, owning
/// its client and upstream descriptors so that stopping can shut them all down
/// (which wakes every thread's poll). Descriptors are closed only as they
/// leave the registry, under its lock, so `shutdownAll` never touches a number
/// the kernel has already handed to someone else. A connection's thread uses
/// the raw numbers while its slot holds them.
final class ConnectionRegistry: Sendable {
    /// Touched only under the registry's lock; free while `client` is nil.
    final class Slot {
        var client: OwnedFD?
        var upstream: OwnedFD?
    }

    private let slots: Mutex<[Slot]>
    private let stopping = Atomic<Bool>(false)

    init(capacity: Int) {
        slots = Mutex((0 ..< capacity).map { _ in Slot() })
    }

    /// A free slot now owning `client`, or nil when all are taken (or stopping):
    /// then `client` is closed.
    func acquire(client: consuming OwnedFD) -> Int? {
        guard !stopping.load(ordering: .acquiring) else { return nil }
        var incoming: OwnedFD? = consume client
        return slots.withLock { slots in
            guard let free = slots.firstIndex(where: { $0.client == nil }) else { return nil }
            slots[free].client = incoming.take()
            return free
        }
    }

    func attach(_ slot: Int, upstream: consuming OwnedFD) {
        let raw = upstream.rawValue
        var incoming: OwnedFD? = consume upstream
        slots.withLock { slots in
            slots[slot].upstream = incoming.take()
            if stopping.load(ordering: .acquiring) { _ = shutdown(raw, Int32(SHUT_RDWR)) }
        }
    }

    /// Closes the slot's upstream.
    func release(_ slot: Int) {
        slots.withLock { slots in slots[slot].upstream = nil }
    }

    /// Frees the slot and closes the client (and an upstream still attached).
    func finish(_ slot: Int) {
        slots.withLock { slots in
            slots[slot].upstream = nil
            slots[slot].client = nil
        }
    }

    var active: Int { slots.withLock { $0.count(where: { $0.client != nil }) } }

    func shutdownAll() {
        stopping.store(true, ordering: .releasing)
        slots.withLock { slots in
            for slot in slots {
                guard let client = slot.client?.rawValue else { continue }
                _ = shutdown(client, Int32(SHUT_RDWR))
                if let upstream = slot.upstream?.rawValue { _ = shutdown(upstream, Int32(SHUT_RDWR)) }
            }
        }
    }
}

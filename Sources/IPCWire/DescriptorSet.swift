#if canImport(Glibc)
import Glibc
#endif

/// An ordered group of owned descriptors, as travels with one frame. Whatever has
/// not been taken out when the set dies is closed, so every error path between
/// `recvmsg` and the code that consumes the descriptors closes them.
public struct DescriptorSet: ~Copyable, Sendable {
    private var slots: [Int32]

    public init() { slots = [] }

    /// Adopts raw descriptors the caller owned.
    public init(adopting raw: [Int32]) {
        precondition(raw.allSatisfy { $0 >= 0 })
        slots = raw
    }

    deinit {
        for fd in slots where fd >= 0 { _ = Glibc.close(fd) }
    }

    /// How many descriptors the set was built with (taken ones included).
    public var count: Int { slots.count }
    public var isEmpty: Bool { slots.isEmpty }

    public mutating func append(_ fd: consuming OwnedFD) {
        slots.append(fd.release())
    }

    /// Removes the descriptor at `index` from the set and hands ownership to the caller.
    public mutating func take(_ index: Int) -> OwnedFD {
        precondition(slots.indices.contains(index) && slots[index] >= 0, "descriptor \(index) already taken")
        let raw = slots[index]
        slots[index] = -1
        return OwnedFD(adopting: raw)
    }

    /// Raw descriptors for a system call that borrows them (e.g. `sendmsg`).
    public borrowing func withRawDescriptors<R>(_ body: ([Int32]) throws -> R) rethrows -> R {
        precondition(slots.allSatisfy { $0 >= 0 }, "cannot send a set with taken descriptors")
        return try body(slots)
    }

    /// The raw descriptor at `index` without giving up ownership.
    public borrowing func raw(_ index: Int) -> Int32 { slots[index] }
}

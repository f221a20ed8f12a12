#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A bounded single-producer single-consumer ring between the query loop and the
/// event writer thread. The loop never blocks on it: when the ring is full the
/// event is dropped and counted (`droppedCount`), so a slow events file or pipe
/// cannot slow down answers.
final class EventQueue: @unchecked Sendable {
    static let nameSlot = 256

    let capacity: Int
    private let mask: Int
    private let records: UnsafeMutablePointer<QueryEventRecord>
    private let names: UnsafeMutableRawPointer
    /// Next record the writer reads / the loop writes; only ever increase.
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)
    /// Producer-side only (the query loop).
    private(set) var droppedCount = 0

    init(capacity requested: Int) {
        var capacity = 16
        while capacity < requested { capacity <<= 1 }
        self.capacity = capacity
        mask = capacity - 1
        // Slots are left uninitialized until first pushed: a ring of 8192 records
        // written up front was 1.2 MiB of private memory in every cell's proxy,
        // most of which a cell never uses. A trivial type needs no deinitialization
        // on overwrite or at the end, which makes that sound.
        precondition(_isPOD(QueryEventRecord.self), "QueryEventRecord must stay a trivial type")
        records = .allocate(capacity: capacity)
        names = .allocate(byteCount: capacity * Self.nameSlot, alignment: 16)
    }

    deinit {
        records.deallocate()
        names.deallocate()
    }

    /// Queues `record` with the wire name `name` (query loop only). False when dropped.
    @discardableResult
    func push(_ record: QueryEventRecord, name: UnsafeRawBufferPointer) -> Bool {
        let position = tail.load(ordering: .relaxed)
        guard position - head.load(ordering: .acquiring) < capacity else {
            droppedCount += 1
            return false
        }
        let slot = position & mask
        var stored = record
        stored.nameLength = min(name.count, Self.nameSlot)
        (records + slot).initialize(to: stored)
        if stored.nameLength > 0 {
            (names + slot * Self.nameSlot).copyMemory(from: name.baseAddress!, byteCount: stored.nameLength)
        }
        tail.store(position + 1, ordering: .releasing)
        return true
    }

    /// Hands every queued record to `body` (writer thread only); returns how many.
    func drain(_ body: (QueryEventRecord, UnsafeRawBufferPointer) -> Void) -> Int {
        let start = head.load(ordering: .relaxed)
        let end = tail.load(ordering: .acquiring)
        for position in start ..< end {
            let slot = position & mask
            let record = records[slot]
            body(record, UnsafeRawBufferPointer(start: names + slot * Self.nameSlot, count: record.nameLength))
        }
        head.store(end, ordering: .releasing)
        return end - start
    }
}

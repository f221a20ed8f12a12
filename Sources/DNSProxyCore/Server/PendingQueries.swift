/// Queries forwarded upstream and not yet answered, in fixed storage allocated once.
///
/// Each entry is found two ways: by the random upstream ID the proxy gave it (a
/// 65536-entry index), and in send order through an intrusive list; since every
/// entry has the same timeout, the list head is always the next to expire, so
/// expiry costs O(1) per query with no timer heap.
final class PendingQueries {
    struct Entry {
        var inUse = false
        var upstreamID: UInt16 = 0
        var clientID: UInt16 = 0
        var clientFlags: UInt16 = 0
        var queryType: UInt16 = 0
        var socketIndex = 0
        var client = SocketAddress()
        var transport = QueryTransport.udp
        /// For TCP: which connection and which incarnation of it asked.
        var connection: Int32 = -1
        var connectionGeneration: UInt32 = 0
        var sentAtNanoseconds: Int64 = 0
        var questionLength = 0
        var previous: Int32 = -1
        var next: Int32 = -1
    }

    static let questionSlot = DNSQueryParser.maxNameLength + 4

    let capacity: Int
    private let entries: UnsafeMutablePointer<Entry>
    private let questions: UnsafeMutableRawPointer
    private let byUpstreamID: UnsafeMutablePointer<Int32>
    private var freeList: [Int32]
    private(set) var oldest: Int32 = -1
    private var newest: Int32 = -1
    var count: Int { capacity - freeList.count }

    init(capacity: Int) {
        precondition(capacity > 0 && capacity <= 32768, "at most half the ID space may be in flight")
        self.capacity = capacity
        entries = .allocate(capacity: capacity)
        entries.initialize(repeating: Entry(), count: capacity)
        questions = .allocate(byteCount: capacity * Self.questionSlot, alignment: 16)
        byUpstreamID = .allocate(capacity: 65536)
        byUpstreamID.initialize(repeating: -1, count: 65536)
        freeList = (0 ..< Int32(capacity)).reversed()
    }

    deinit {
        entries.deinitialize(count: capacity)
        entries.deallocate()
        questions.deallocate()
        byUpstreamID.deallocate()
    }

    subscript(slot: Int32) -> Entry {
        get { entries[Int(slot)] }
        _modify { yield &entries[Int(slot)] }
    }

    /// Takes a free entry under a fresh random upstream ID, appends it to the send
    /// order and copies `question` into it; nil when every entry is in use.
    func allocate(question: UnsafeRawBufferPointer, now: Int64, random: inout RandomIDs) -> Int32? {
        guard let slot = freeList.popLast() else { return nil }
        // At most half the IDs are taken, so a free one turns up within a few draws.
        var id = random.next16()
        while byUpstreamID[Int(id)] >= 0 { id = random.next16() }
        byUpstreamID[Int(id)] = slot
        let count = min(question.count, Self.questionSlot)
        (questions + Int(slot) * Self.questionSlot).copyMemory(from: question.baseAddress!, byteCount: count)
        entries[Int(slot)] = Entry(
            inUse: true, upstreamID: id, sentAtNanoseconds: now, questionLength: count,
            previous: newest, next: -1)
        if newest >= 0 { entries[Int(newest)].next = slot } else { oldest = slot }
        newest = slot
        return slot
    }

    func lookup(upstreamID: UInt16) -> Int32? {
        let slot = byUpstreamID[Int(upstreamID)]
        return slot >= 0 ? slot : nil
    }

    /// The question the proxy sent for `slot` (the client's bytes, case kept).
    func question(_ slot: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: questions + Int(slot) * Self.questionSlot, count: entries[Int(slot)].questionLength)
    }

    func release(_ slot: Int32) {
        let entry = entries[Int(slot)]
        precondition(entry.inUse, "releasing a free pending entry")
        byUpstreamID[Int(entry.upstreamID)] = -1
        if entry.previous >= 0 { entries[Int(entry.previous)].next = entry.next } else { oldest = entry.next }
        if entry.next >= 0 { entries[Int(entry.next)].previous = entry.previous } else { newest = entry.previous }
        entries[Int(slot)].inUse = false
        freeList.append(slot)
    }
}

@testable import DNSProxyCore
import Testing

@Suite struct PendingQueriesTests {
    @Test func entriesGetDistinctIDsAndExpireInSendOrder() throws {
        let table = PendingQueries(capacity: 64)
        var random = RandomIDs()
        let question = DNSMessages.wire("a.test") + [0, 1, 0, 1]
        var slots: [Int32] = []
        for index in 0 ..< 64 {
            let slot = try #require(question.withUnsafeBytes { table.allocate(question: $0, now: Int64(index), random: &random) })
            slots.append(slot)
        }
        #expect(question.withUnsafeBytes { table.allocate(question: $0, now: 99, random: &random) } == nil)
        let ids = slots.map { table[$0].upstreamID }
        #expect(Set(ids).count == 64)
        for slot in slots { #expect(table.lookup(upstreamID: table[slot].upstreamID) == slot) }
        #expect(Array(table.question(slots[5])) == question)
        #expect(table.oldest == slots[0])
        // Releasing from the middle and the front keeps the order of the rest.
        let middleID = table[slots[10]].upstreamID
        table.release(slots[10])
        table.release(slots[0])
        #expect(table.lookup(upstreamID: middleID) == nil)
        #expect(table.oldest == slots[1])
        var order: [Int64] = []
        while table.oldest >= 0 {
            order.append(table[table.oldest].sentAtNanoseconds)
            table.release(table.oldest)
        }
        #expect(order == (1 ..< 64).filter { $0 != 10 }.map(Int64.init))
        #expect(table.count == 0)
    }

    @Test func randomIDsVary() {
        var random = RandomIDs()
        let values = (0 ..< 5000).map { _ in random.next16() }
        #expect(Set(values).count > 4000)
    }
}

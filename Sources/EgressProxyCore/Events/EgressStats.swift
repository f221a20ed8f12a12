import HelperRuntime
import IPCWire
import Synchronization

/// The proxy's counters, shared by the connection threads; rendered as the
/// `egressproxy_stats` line (the last line of the events stream).
public final class EgressStats: Sendable {
    let connections = Atomic<Int>(0)
    let refusedBusy = Atomic<Int>(0)
    let bytesUp = Atomic<Int>(0)
    let bytesDown = Atomic<Int>(0)
    let eventsWritten = Atomic<Int>(0)
    let eventWriteFailures = Atomic<Int>(0)
    let peakActive = Atomic<Int>(0)
    private let reasons = Mutex<[EgressReason: Int]>([:])

    public init() {}

    func record(_ event: DecisionEvent) {
        connections.add(1, ordering: .relaxed)
        bytesUp.add(event.bytesUp, ordering: .relaxed)
        bytesDown.add(event.bytesDown, ordering: .relaxed)
        reasons.withLock { $0[event.reason, default: 0] += 1 }
    }

    func notePeak(_ active: Int) {
        var current = peakActive.load(ordering: .relaxed)
        while active > current {
            let (exchanged, original) = peakActive.compareExchange(expected: current, desired: active, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    public func count(_ reason: EgressReason) -> Int { reasons.withLock { $0[reason] ?? 0 } }
    public var connectionCount: Int { connections.load(ordering: .relaxed) }
    public var busyRefusals: Int { refusedBusy.load(ordering: .relaxed) }

    public func json(cellID: String) -> String {
        let counts = reasons.withLock { $0 }
        let allowed = counts[.allowed] ?? 0
        let byReason = EgressReason.allCases.map { "\"\($0.rawValue)\":\(counts[$0] ?? 0)" }.joined(separator: ",")
        return "{\"type\":\"egressproxy_stats\",\"time\":\(JSONBytes.quoted(RFC3339.format(nanoseconds: RealtimeClock.nanoseconds())))"
            + ",\"cell_id\":\(JSONBytes.quoted(cellID)),\"connections\":\(connectionCount),\"allowed\":\(allowed)"
            + ",\"denied\":\(connectionCount - allowed),\"refused_busy\":\(busyRefusals),\"peak_active\":\(peakActive.load(ordering: .relaxed))"
            + ",\"bytes_up\":\(bytesUp.load(ordering: .relaxed)),\"bytes_down\":\(bytesDown.load(ordering: .relaxed))"
            + ",\"events_written\":\(eventsWritten.load(ordering: .relaxed)),\"event_write_failures\":\(eventWriteFailures.load(ordering: .relaxed))"
            + ",\"reasons\":{\(byReason)}}"
    }
}

import HelperRuntime
import IPCWire
import Synchronization

/// The events descriptor, written one whole line at a time under a lock by the
/// connection threads (one line per connection, at its end: far below the
/// rates that made the DNS proxy queue its events for a writer thread).
public final class EventLog: Sendable {
    private let output: Mutex<OwnedFD?>
    let cellID: String
    let stats: EgressStats

    public init(output: consuming OwnedFD?, cellID: String, stats: EgressStats) {
        self.output = Mutex(output)
        self.cellID = cellID
        self.stats = stats
    }

    func write(_ event: DecisionEvent) {
        stats.record(event)
        writeLine(event.json(cellID: cellID))
        stats.eventsWritten.add(1, ordering: .relaxed)
    }

    public func writeLine(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        output.withLock { fd in
            guard let raw = fd?.rawValue else { return }
            if bytes.withUnsafeBytes({ EventsOutput.writeAll(raw, $0) }) < bytes.count {
                stats.eventWriteFailures.add(1, ordering: .relaxed)
            }
        }
    }
}

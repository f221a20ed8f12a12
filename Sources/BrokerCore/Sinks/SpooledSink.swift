import HelperRuntime
import IPCWire

/// A remote sink with its spool: while the sink confirms, records go straight to
/// it; once it fails (or while older records wait in the spool) they go to the
/// spool, and are replayed in order when it answers again: on a retry (at most
/// every `retryMilliseconds`), at the start of the next run, or by
/// `cellos-broker flush`. Nothing is dropped except past the spool's bound, and
/// that is counted (`takeDropped`) for a `sink.v1.spool_overflow` event.
public final class SpooledSink {
    public let sink: EventSink
    public let spool: Spool
    let timing: SinkTiming
    private var retryAt: Int64 = 0
    private var dropped = 0
    private var reportedDown = false
    private var reportedFull = false

    public init(sink: EventSink, spool: Spool, timing: SinkTiming) {
        self.sink = sink
        self.spool = spool
        self.timing = timing
    }

    public func write(_ record: SinkRecord) {
        let now = Monotonic.milliseconds()
        if now < retryAt {
            store([record])
            return
        }
        if spool.size > 0 {
            store([record])
            replay(budget: timing.replayMilliseconds)
            return
        }
        do {
            try sink.send(record)
        } catch {
            return down(error, unsent: [record])
        }
        // Taken: from here on the record is the sink's until confirmed or abandoned.
        do { _ = try sink.settle(until: 0) } catch { down(error, unsent: []) }
    }

    /// Replays the spool for at most `budget` ms, in windows of 256 records, each
    /// confirmed before the next is sent. Returns (delivered, left).
    @discardableResult
    public func replay(budget: Int64) -> (delivered: Int, left: Int) {
        let deadline = Monotonic.milliseconds() + budget
        var failure: SinkError?
        do {
            let result = try spool.drain { records in
                var delivered = 0
                while delivered < records.count, Monotonic.milliseconds() < deadline {
                    let window = records[delivered..<min(records.count, delivered + 256)]
                    do throws(SinkError) {
                        for record in window { try sink.send(record) }
                        var pending = window.count
                        while pending > 0, Monotonic.milliseconds() < deadline { pending = try sink.settle(until: deadline) }
                        guard pending == 0 else { break }
                    } catch {
                        failure = error
                        break
                    }
                    delivered += window.count
                }
                // Unconfirmed ones stay in the spool (a re-publish is deduplicated by id).
                _ = sink.abandon()
                return delivered
            }
            if let failure { down(failure, unsent: []) } else if result.left == 0 { up() }
            return result
        } catch {
            report("warning: \(sink.label): spool \(spool.directory): \(error)")
            return (0, spool.size > 0 ? 1 : 0)
        }
    }

    /// At the end of a cell: acknowledgements awaited until `deadline`, the rest spooled.
    public func finish(until deadline: Int64) {
        do {
            var pending = try sink.settle(until: 0)
            while pending > 0, Monotonic.milliseconds() < deadline { pending = try sink.settle(until: deadline) }
            if pending > 0 { store(sink.abandon()) }
        } catch {
            down(error, unsent: [])
        }
        _ = sink.abandon()
    }

    /// Records dropped at the spool's bound since the last call.
    public func takeDropped() -> Int {
        defer { dropped = 0 }
        return dropped
    }

    private func down(_ error: SinkError, unsent: [SinkRecord]) {
        store(sink.abandon() + unsent)
        retryAt = Monotonic.milliseconds() + timing.retryMilliseconds
        if !reportedDown {
            reportedDown = true
            report("warning: \(error); events spool to \(spool.directory) until it answers")
        }
    }

    private func up() {
        if reportedDown { report("\(sink.label): delivering again, spool replayed") }
        reportedDown = false
        reportedFull = false
    }

    private func store(_ records: [SinkRecord]) {
        do {
            let lost = try spool.append(records)
            if lost > 0 {
                dropped += lost
                // Once per episode on stderr; every drop is counted in the overflow events.
                guard !reportedFull else { return }
                reportedFull = true
                report("error: \(sink.label): spool \(spool.directory) is full (\(spool.maxBytes) bytes): events are not kept for this sink until it drains")
            }
        } catch {
            dropped += records.count
            report("error: \(sink.label): spool \(spool.directory): \(error): \(records.count) events not kept")
        }
    }

    private func report(_ line: String) {
        LogWriter.write(line, priority: line.hasPrefix("error: ") ? .error : line.hasPrefix("warning: ") ? .warning : .info, program: BrokerRole.executableName)
    }
}

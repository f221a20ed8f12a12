#if canImport(Glibc)
import Glibc
#endif
import IPCWire
import Synchronization

/// Signs each event (when a signer is given) once and hands the line to every
/// sink, in emission order: local files directly (a failed write throws), remote
/// sinks through their `SpooledSink` (they never throw: what they cannot confirm
/// spools). Safe to call from several threads (one lock around the fan-out, so
/// lines never interleave).
public final class EventWriter: Sendable {
    private let signer: EventSigner?
    private let lock = Mutex(0)
    private let sinks: SinkSet
    public let timing: SinkTiming

    /// One file sink: `-` writes to standard output; a path is created (0600) or appended to.
    public convenience init(destination: String, signer: EventSigner? = nil) throws(SystemCallError) {
        self.init(local: [try FileSink(path: destination)], remote: [], signer: signer)
    }

    /// `local` sinks are written directly; `remote` ones are spooled.
    public init(local: [EventSink], remote: [SpooledSink], signer: EventSigner?, timing: SinkTiming = SinkTiming()) {
        self.signer = signer
        self.timing = timing
        sinks = SinkSet(local: local, remote: remote)
    }

    /// Who stamps the `sink.v1.spool_overflow` events (the cell's stamper).
    public func attach(stamper: EventStamper) {
        lock.withLock { _ in sinks.stamper = stamper }
    }

    /// Signs (when configured) and writes one event; returns the event as written.
    @discardableResult
    public func write(_ event: CloudEvent) throws -> CloudEvent {
        let final = try signer?.sign(event) ?? event
        let record = SinkRecord(final)
        try lock.withLock { written throws in
            try deliver(record)
            written += 1
            // Never silent: one overflow event per write that found drops (it may itself be dropped by that sink, and is counted then).
            for spooled in sinks.remote {
                let dropped = spooled.takeDropped()
                guard dropped > 0, let stamper = sinks.stamper else { continue }
                let overflow = Self.overflowEvent(stamper, spooled, dropped)
                try deliver(SinkRecord(try signer?.sign(overflow) ?? overflow))
                written += 1
            }
        }
        return final
    }

    private func deliver(_ record: SinkRecord) throws {
        var failure: Error?
        for sink in sinks.local {
            do { try sink.send(record) } catch { failure = failure ?? error }
        }
        for spooled in sinks.remote { spooled.write(record) }
        if let failure { throw failure }
    }

    /// At the start of a run: spooled events of earlier runs replayed first, each
    /// sink for at most `timing.replayMilliseconds`.
    public func replaySpools() {
        lock.withLock { _ in
            for spooled in sinks.remote where spooled.spool.size > 0 { spooled.replay(budget: timing.replayMilliseconds) }
        }
    }

    /// At the end of a run: acknowledgements awaited for at most
    /// `timing.finishMilliseconds` in all, the rest spooled.
    public func finish() {
        lock.withLock { _ in
            let deadline = Monotonic.milliseconds() + timing.finishMilliseconds
            for spooled in sinks.remote { spooled.finish(until: deadline) }
        }
    }

    /// After the privilege drop: every remote sink's spool directory is writable.
    public func checkSpools() throws(SinkError) {
        for spooled in sinks.remote { try spooled.spool.check() }
    }

    /// `flush`: each remote sink's spool replayed for at most `budget` ms.
    public func flushSpools(budget: Int64) -> [(label: String, delivered: Int, left: Int)] {
        lock.withLock { _ in
            sinks.remote.map { spooled in
                let result = spooled.replay(budget: budget)
                return (spooled.sink.label, result.delivered, result.left)
            }
        }
    }

    /// Events written so far.
    public var count: Int { lock.withLock { $0 } }

    static func overflowEvent(_ stamper: EventStamper, _ spooled: SpooledSink, _ dropped: Int) -> CloudEvent {
        stamper.event(.spoolOverflow, data: .object([
            "sink": .string(spooled.sink.label), "spool": .string(spooled.spool.directory),
            "max_bytes": .integer(spooled.spool.maxBytes), "dropped": .integer(dropped),
        ]))
    }
}

/// The sinks behind an `EventWriter`'s lock (only touched with it held).
private final class SinkSet: @unchecked Sendable {
    let local: [EventSink]
    let remote: [SpooledSink]
    var stamper: EventStamper?

    init(local: [EventSink], remote: [SpooledSink]) {
        self.local = local
        self.remote = remote
    }
}

enum FileOutput {
    /// write(2) until every byte is out (pipes and signals may cut a write short).
    static func writeAll(fd: Int32, bytes: [UInt8], context: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let count = try systemCall("write", context: context) {
                bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            offset += count
        }
    }
}

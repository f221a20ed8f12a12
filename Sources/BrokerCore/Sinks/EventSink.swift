/// Where events go (docs/events.md, "Sinks"). A sink receives each signed event
/// line once, in the order the broker emits them. Remote sinks (NATS, journald)
/// sit behind a `SpooledSink`, which keeps what they could not confirm on disk.
public protocol EventSink: AnyObject {
    /// The sink as given on the command line (`nats://…`), for messages and the spool's name.
    var label: String { get }
    /// Hands one record to the sink; throws when it cannot take it now. A record
    /// handed over may still be unconfirmed (`settle`).
    func send(_ record: SinkRecord) throws(SinkError)
    /// Collects confirmations until `deadline` (monotonic ms; a past one: only
    /// what already arrived). Returns how many sent records are still unconfirmed;
    /// throws when some never will be (they are then in `abandon()`).
    func settle(until deadline: Int64) throws(SinkError) -> Int
    /// Every sent record not confirmed, oldest first; the sink forgets them (and
    /// drops its connection: the next `send` starts afresh).
    func abandon() -> [SinkRecord]
}

/// One event as sinks see it: the line, and the attributes they route and label by.
public struct SinkRecord: Sendable, Equatable {
    public let line: [UInt8]
    public let id: String
    public let type: String
    /// From `subject` (`cell:<id>`); empty when the event has none.
    public let cellID: String

    public init(line: [UInt8], id: String, type: String, cellID: String) {
        self.line = line
        self.id = id
        self.type = type
        self.cellID = cellID
    }

    /// The record of an event about to be written (signed already, when signing).
    public init(_ event: CloudEvent) {
        let subject = event.subject ?? ""
        self.init(line: event.json.serializedBytes(), id: event.id, type: event.type, cellID: subject.hasPrefix("cell:") ? String(subject.dropFirst(5)) : "")
    }

    /// A record from a line read back from a spool (nil: not an event).
    public init?(line: [UInt8]) {
        guard case .object(let members)? = try? JSONParser.parse(line, maxBytes: HelperEventWrapper.maxLineBytes * 2),
            let id = members["id"]?.stringValue, let type = members["type"]?.stringValue
        else { return nil }
        let subject = members["subject"]?.stringValue ?? ""
        self.init(line: line, id: id, type: type, cellID: subject.hasPrefix("cell:") ? String(subject.dropFirst(5)) : "")
    }
}

public enum SinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A `--sink` value (or its credentials) that cannot be used; `sink` names it.
    case invalid(sink: String, problem: String)
    /// The sink is unreachable or refused a record.
    case unavailable(sink: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let sink, let problem): "--sink \(sink): \(problem)"
        case .unavailable(let sink, let reason): "\(sink): \(reason)"
        }
    }
}

/// How long a sink may hold the broker up (docs/events.md, "Bounded delay").
public struct SinkTiming: Sendable, Equatable {
    /// One connection attempt (TCP connect, INFO, CONNECT, PONG).
    public var connectMilliseconds: Int64 = 250
    /// After a failure, the sink is not tried again for this long (events spool).
    public var retryMilliseconds: Int64 = 2000
    /// Replaying a spool (at the start of a run, on a retry) stops after this long.
    public var replayMilliseconds: Int64 = 1000
    /// At the end of the cell: waiting for outstanding acknowledgements.
    public var finishMilliseconds: Int64 = 2000

    public init() {}
}

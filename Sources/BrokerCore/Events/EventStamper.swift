#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// Gives events what the broker adds to everything it emits: a unique `id`, the
/// `time` (the broker's clock now, unless the occurrence's own time is given),
/// the `source` (`sourceBase` + emitting helper) and the `subject` (`cell:<id>`).
public struct EventStamper: Sendable {
    public let cellID: String
    public let host: String
    /// An absolute URI prefix the helper's name is appended to (`EventSource`).
    public let sourceBase: String
    private let clock: @Sendable () -> timespec

    public init(
        cellID: String, host: String = EventStamper.hostName(), sourceBase: String? = nil,
        clock: @escaping @Sendable () -> timespec = EventStamper.realtime
    ) {
        self.cellID = cellID
        self.host = host
        self.sourceBase = sourceBase ?? EventSource.defaultBase(host: host)
        self.clock = clock
    }

    public func event(_ type: CellEventType, from helper: String = BrokerRole.executableName, time: String? = nil, data: JSONValue) -> CloudEvent {
        event(type.rawValue, from: helper, time: time, data: data)
    }

    /// `time`, when given, is the occurrence's own (`RFC3339`'s form, checked by the caller).
    public func event(_ type: String, from helper: String, time: String? = nil, data: JSONValue) -> CloudEvent {
        CloudEvent(
            id: EventIDs.generate(), source: sourceBase + helper, type: type,
            subject: CloudEvent.subject(cellID: cellID), time: time ?? now(), data: data)
    }

    /// The broker's clock in `RFC3339`'s form.
    public func now() -> String {
        let time = clock()
        return RFC3339.format(seconds: Int64(time.tv_sec), microseconds: Int64(time.tv_nsec / 1000))
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    public static let realtime: @Sendable () -> timespec = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now
    }
}

/// Event ids: random (version 4) UUIDs in their usual text form.
public enum EventIDs {
    public static func generate() -> String {
        var bytes = RandomBytes.bytes(16)
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = Hex.encode(bytes)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(hex.dropFirst(range.lowerBound).prefix(range.count))
        }
        return parts.joined(separator: "-")
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Gives events what the broker adds to everything it emits: a unique `id`, the
/// `time`, the `source` (helper and host) and the `subject` (`cell:<id>`).
public struct EventStamper: Sendable {
    public let cellID: String
    public let host: String
    private let clock: @Sendable () -> timespec

    public init(cellID: String, host: String = EventStamper.hostName(), clock: @escaping @Sendable () -> timespec = EventStamper.realtime) {
        self.cellID = cellID
        self.host = host
        self.clock = clock
    }

    public func event(_ type: CellEventType, from helper: String = BrokerRole.executableName, data: JSONValue) -> CloudEvent {
        event(type.rawValue, from: helper, data: data)
    }

    public func event(_ type: String, from helper: String, data: JSONValue) -> CloudEvent {
        CloudEvent(
            id: EventIDs.generate(), source: CloudEvent.source(helper: helper, host: host), type: type,
            subject: CloudEvent.subject(cellID: cellID), time: RFC3339.format(clock()), data: data)
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

/// RFC 3339 UTC timestamps with microseconds: `2026-11-25T16:00:00.123456Z`.
public enum RFC3339 {
    public static func format(_ time: timespec) -> String {
        var seconds = time_t(time.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(Int(time.tv_nsec) / 1000, 6))Z"
    }
}

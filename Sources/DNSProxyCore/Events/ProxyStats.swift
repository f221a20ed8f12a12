import HelperRuntime
import IPCWire

/// Counters of one proxy run, printed as one JSON line on SIGUSR1 and at exit.
public struct ProxyStats: Sendable, Equatable {
    public var queriesTotal = 0
    public var allowed = 0
    public var deniedName = 0
    public var deniedQueryType = 0
    public var malformed = 0
    public var upstreamTimeouts = 0
    public var upstreamFailures = 0
    /// Upstream datagrams dropped: wrong source, unknown ID, or a different question.
    public var upstreamAnswersDropped = 0
    public var eventsWritten = 0
    public var eventsDropped = 0
    public var eventWriteFailures = 0
    public var tcpConnections = 0
    public var tcpConnectionsRejected = 0
    /// TCP queries answered SERVFAIL because their connection had `--tcp-max-inflight` waiting.
    public var tcpInflightRefused = 0
    /// accept(2) failures for want of descriptors or memory; each pauses accepting briefly.
    public var tcpAcceptFailures = 0

    public init() {}

    public var denied: Int { deniedName + deniedQueryType }

    /// The `dnsproxy_stats` line as of now.
    public func json(cellID: String) -> String {
        let now = RealtimeClock.nanoseconds()
        return json(cellID: cellID, time: RFC3339.format(seconds: now / 1_000_000_000, microseconds: now % 1_000_000_000 / 1000))
    }

    /// The `dnsproxy_stats` line (docs/events.md); `time` is when the counters were read.
    public func json(cellID: String, time: String) -> String {
        let fields: [(String, Int)] = [
            ("queries_total", queriesTotal), ("allowed", allowed), ("denied", denied),
            ("denied_name", deniedName), ("denied_qtype", deniedQueryType), ("malformed", malformed),
            ("upstream_timeouts", upstreamTimeouts), ("upstream_failures", upstreamFailures),
            ("upstream_answers_dropped", upstreamAnswersDropped), ("events_written", eventsWritten),
            ("events_dropped", eventsDropped), ("event_write_failures", eventWriteFailures),
            ("tcp_connections", tcpConnections), ("tcp_connections_rejected", tcpConnectionsRejected),
            ("tcp_inflight_refused", tcpInflightRefused), ("tcp_accept_failures", tcpAcceptFailures),
        ]
        return "{\"type\":\"dnsproxy_stats\",\"time\":\"\(time)\",\"cell_id\":\(JSONBytes.quoted(cellID)),"
            + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}

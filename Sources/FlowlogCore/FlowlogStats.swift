/// Counters a flow listener reports on SIGUSR1 and at exit.
public struct FlowlogStats: Equatable, Sendable {
    /// `recv` calls that returned data.
    public var datagrams: UInt64 = 0
    /// Netlink messages in those datagrams.
    public var messages: UInt64 = 0
    /// NFULNL_MSG_PACKET messages that decoded.
    public var packets: UInt64 = 0
    /// Packets whose prefix named a verdict and rule: each became an event.
    public var matched: UInt64 = 0
    /// Packets whose prefix was absent, someone else's or malformed.
    public var unmatched: UInt64 = 0
    /// Messages or payloads that failed to decode (skipped), and truncated datagrams.
    public var decodeFailures: UInt64 = 0
    /// NLMSG_ERROR messages carrying an error, NLMSG_OVERRUN, unexpected types.
    public var netlinkErrors: UInt64 = 0
    public var eventsWritten: UInt64 = 0
    /// Events that could not be written (output error).
    public var eventsDropped: UInt64 = 0
    /// `recv` failing with ENOBUFS: the kernel dropped log messages (one count
    /// per overflow episode, which may cover many packets).
    public var kernelDrops: UInt64 = 0
    /// Packets missing from the NFULA_SEQ sequence: how many the kernel dropped.
    public var sequenceLost: UInt64 = 0

    public init() {}

    /// `time`: when the counters were read (RFC 3339, `WallTime.rfc3339`).
    public func jsonLine(cellID: String, time: String, flows: Int, flowTableOverflow: UInt64) -> String {
        var line = JSONLine()
        line.field("type", "flowlog_stats")
        line.field("time", time)
        line.field("cell_id", cellID)
        line.field("datagrams", datagrams)
        line.field("messages", messages)
        line.field("packets", packets)
        line.field("matched", matched)
        line.field("unmatched", unmatched)
        line.field("decode_failures", decodeFailures)
        line.field("netlink_errors", netlinkErrors)
        line.field("events_written", eventsWritten)
        line.field("events_dropped", eventsDropped)
        line.field("kernel_drops", kernelDrops)
        line.field("sequence_lost", sequenceLost)
        line.field("flows", flows)
        line.field("flow_table_overflow", flowTableOverflow)
        return line.object
    }
}

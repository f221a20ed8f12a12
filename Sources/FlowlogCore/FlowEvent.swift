/// One logged packet that matched the flow prefix: what the cell's nftables
/// ruleset decided about it, and the packet's 5-tuple.
public struct FlowEvent: Sendable {
    public var time: WallTime
    public var verdict: FlowVerdict
    /// `in`, `out` or `forward` from the netfilter hook; nil without NFULA_PACKET_HDR.
    public var direction: String?
    /// Nil when NFLOG copied no payload (copy mode meta, or copy range 0).
    public var packet: PacketSummary?
    public var uid: UInt32?
    public var gid: UInt32?
    public var inputInterface: UInt32?
    public var outputInterface: UInt32?
    public var sequence: UInt32?
    public var group: UInt16

    /// The event as one JSON object (format: docs/flowlog.md).
    public func jsonLine(cellID: String) -> String {
        json(cellID: cellID, timeText: time.rfc3339).object
    }

    /// The event's JSON with its time already formatted (a listener formats each
    /// receive time once per datagram, not once per packet).
    public func json(cellID: String, timeText: String) -> JSONLine {
        var line = JSONLine()
        line.field("type", "flow_event")
        line.field("time", timeText)
        line.field("cell_id", cellID)
        line.field("verdict", verdict.verdict)
        line.field("rule", verdict.rule)
        if let direction { line.field("direction", direction) }
        if let packet {
            line.field("protocol", packet.protocolName)
            line.field("src", packet.source)
            line.field("dst", packet.destination)
            line.optionalField("sport", packet.sourcePort)
            line.optionalField("dport", packet.destinationPort)
            line.optionalField("icmp_type", packet.icmpType)
            line.optionalField("icmp_code", packet.icmpCode)
            if let flags = packet.tcpFlags { line.field("tcp_flags", TCPFlags.text(flags)) }
            if packet.isLaterFragment { line.field("fragment", true) }
            line.field("length", packet.length)
        } else {
            line.field("protocol", "unknown")
        }
        line.optionalField("uid", uid)
        line.optionalField("gid", gid)
        line.optionalField("indev", inputInterface)
        line.optionalField("outdev", outputInterface)
        line.optionalField("seq", sequence)
        line.field("group", group)
        return line
    }
}

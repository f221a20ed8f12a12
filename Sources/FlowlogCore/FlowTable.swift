#if canImport(IPCWire)  // the nflog fuzz targets compile IPCWire's IPAddress.swift with this file
import IPCWire
#endif
/// A flow's identity: 5-tuple (ICMP type/code in place of ports) and verdict.
public struct FlowKey: Hashable, Sendable {
    public var verdict: String
    public var ipProtocol: UInt8
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var icmpType: UInt8?
    public var icmpCode: UInt8?
}

public struct FlowRecord: Sendable {
    public var rule: String
    public var direction: String?
    public var firstSeen: WallTime
    public var lastSeen: WallTime
    public var packets: UInt64
    public var bytes: UInt64
}

/// Aggregates flow events into unique flows. Bounded: once `capacity` flows are
/// tracked, events of new flows are still written but not aggregated, and
/// `overflowedEvents` says how many.
public struct FlowTable: Sendable {
    public let capacity: Int
    public private(set) var flows: [FlowKey: FlowRecord] = [:]
    public private(set) var overflowedEvents: UInt64 = 0

    public init(capacity: Int = 65_536) { self.capacity = capacity }

    public mutating func record(_ event: FlowEvent) {
        guard let packet = event.packet else { return }
        let key = FlowKey(
            verdict: event.verdict.verdict, ipProtocol: packet.ipProtocol, source: packet.source, destination: packet.destination,
            sourcePort: packet.sourcePort, destinationPort: packet.destinationPort, icmpType: packet.icmpType, icmpCode: packet.icmpCode)
        if var record = flows[key] {
            record.lastSeen = event.time
            record.packets += 1
            record.bytes += UInt64(packet.length)
            flows[key] = record
        } else if flows.count < capacity {
            flows[key] = FlowRecord(
                rule: event.verdict.rule, direction: event.direction, firstSeen: event.time, lastSeen: event.time,
                packets: 1, bytes: UInt64(packet.length))
        } else {
            overflowedEvents += 1
        }
    }

    /// One `flow_summary` JSON object per flow, ordered by first-seen time.
    public func summaryLines(cellID: String) -> [String] {
        flows.sorted { ($0.value.firstSeen.seconds, $0.value.firstSeen.microseconds) < ($1.value.firstSeen.seconds, $1.value.firstSeen.microseconds) }
            .map { key, record in
                var line = JSONLine()
                line.field("type", "flow_summary")
                // A summary happened when its flow was last seen.
                line.field("time", record.lastSeen.rfc3339)
                line.field("cell_id", cellID)
                line.field("verdict", key.verdict)
                line.field("rule", record.rule)
                if let direction = record.direction { line.field("direction", direction) }
                line.field("protocol", IPProtocolNumber.name(key.ipProtocol))
                line.field("src", key.source)
                line.field("dst", key.destination)
                line.optionalField("sport", key.sourcePort)
                line.optionalField("dport", key.destinationPort)
                line.optionalField("icmp_type", key.icmpType)
                line.optionalField("icmp_code", key.icmpCode)
                line.field("first_seen", record.firstSeen.rfc3339)
                line.field("last_seen", record.lastSeen.rfc3339)
                line.field("packets", record.packets)
                line.field("bytes", record.bytes)
                return line.object
            }
    }
}

/// Turns received NFLOG datagrams into flow events, counting everything it
/// skips. Pure Swift: this is what the fuzz target drives.
public struct FlowDecoder: Sendable {
    public let prefixParser: FlowPrefixParser
    public var stats = FlowlogStats()
    public var table: FlowTable
    /// The last NFULA_SEQ seen: the kernel numbers every packet it logs to the
    /// group, so a jump means packets lost to a full socket buffer.
    var lastSequence: UInt32?
    /// netnsd ended the log (`NflogSocket.endLog`): everything logged is in the socket.
    public private(set) var logEnded = false

    public init(prefix: String = FlowPrefixParser.defaultPrefix, flowCapacity: Int = 65_536) {
        prefixParser = FlowPrefixParser(prefix: prefix)
        table = FlowTable(capacity: flowCapacity)
    }

    /// Decodes every message of one datagram. `receivedAt` stamps packets that
    /// carry no NFULA_TIMESTAMP. Each event is recorded in the flow table and
    /// passed to `emit`.
    public mutating func process(
        datagram: UnsafeRawBufferPointer, receivedAt: WallTime, emit: (FlowEvent) -> Void
    ) {
        stats.datagrams += 1
        var walker = NetlinkMessageWalker(datagram)
        while let next = walker.next() {
            switch next {
            case .failure:
                stats.decodeFailures += 1
            case .success(let message):
                stats.messages += 1
                handle(message, receivedAt: receivedAt, emit: emit)
            }
        }
    }

    mutating func handle(_ message: NetlinkMessage, receivedAt: WallTime, emit: (FlowEvent) -> Void) {
        switch message.type {
        case NflogProtocol.packetMessageType:
            break
        case NetlinkMessageType.noop, NetlinkMessageType.done:
            return
        case NetlinkMessageType.error:
            // An ack (error 0) is not a failure; anything else is. The ack of
            // netnsd's UNBIND says the kernel flushed everything: the log is complete.
            if message.errorCode != 0 {
                stats.netlinkErrors += 1
            } else if message.sequence == NflogProtocol.endOfLogSequence {
                logEnded = true
            }
            return
        default:
            stats.netlinkErrors += 1
            return
        }
        let packet: NflogPacket
        do { packet = try NflogPacket.decode(message.payload) } catch {
            stats.decodeFailures += 1
            return
        }
        stats.packets += 1
        if let sequence = packet.sequence {
            if let last = lastSequence {
                let gap = sequence &- last &- 1
                // A huge "gap" is a reordering or a counter reset, not a loss.
                if gap != 0 && gap < 1 << 31 { stats.sequenceLost += UInt64(gap) }
            }
            lastSequence = sequence
        }
        guard let prefix = packet.prefix, let verdict = prefixParser.parse(prefix) else {
            stats.unmatched += 1
            return
        }
        var summary: PacketSummary?
        if let payload = packet.payload, payload.count > 0 {
            do { summary = try PacketSummary.parse(payload) } catch {
                stats.decodeFailures += 1
                return
            }
        }
        stats.matched += 1
        let event = FlowEvent(
            time: packet.timestamp ?? receivedAt, verdict: verdict, direction: packet.hook.flatMap(NetfilterHook.init(rawValue:))?.direction,
            packet: summary, uid: packet.uid, gid: packet.gid, inputInterface: packet.inputInterface,
            outputInterface: packet.outputInterface, sequence: packet.sequence, group: packet.group)
        table.record(event)
        emit(event)
    }
}

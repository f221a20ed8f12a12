/// Builds and decodes frames carrying netnsd messages (types 256–511) and the
/// common `ErrorReply`, with the same strictness as IPCWire's own decoder:
/// unknown type, wrong descriptor count or trailing bytes are errors.
public enum NetnsdFrame {
    public static func make<M: NetnsdMessage>(
        _ message: M, requestID: UInt32, flags: FrameHeader.Flags = [], descriptors: consuming DescriptorSet = DescriptorSet()
    ) -> Frame {
        Frame(message, requestID: requestID, flags: flags, descriptors: descriptors)
    }

    /// A decoded netnsd message (or an error reply) of any known type.
    public enum Message: Equatable, Sendable {
        case createCell(CreateCell)
        case cellCreated(CellCreated)
        case destroyCell(DestroyCell)
        case cellDestroyed(CellDestroyed)
        case readCounters(ReadCounters)
        case countersReport(CountersReport)
        case spawnWorkload(SpawnWorkload)
        case workloadSpawned(WorkloadSpawned)
        case startWorkload(StartWorkload)
        case workloadStarted(WorkloadStarted)
        case signalWorkload(SignalWorkload)
        case workloadSignalled(WorkloadSignalled)
        case workloadExited(WorkloadExited)
        case readStatus(ReadStatus)
        case statusReport(StatusReport)
        case error(ErrorReply)
    }

    /// Decodes the payload of `header`/`payload`; `descriptorCount` is how many
    /// descriptors arrived with it.
    public static func decode(header: FrameHeader, payload: [UInt8], descriptorCount: Int) throws(WireError) -> Message {
        var reader = WireReader(payload)
        let message: Message
        let expected: Int
        // DescriptorBundle is not part of netnsd's protocol: refused like an unknown type.
        guard let type = MessageType(rawValue: header.messageType), type != .descriptorBundle else {
            throw .unknownMessageType(header.messageType)
        }
        do {
            switch type {
            case .descriptorBundle:
                throw .unknownMessageType(header.messageType)
            case .errorReply:
                let reply = try ErrorReply(from: &reader)
                (message, expected) = (.error(reply), 0)
            case .createCell:
                let value = try CreateCell(from: &reader)
                (message, expected) = (.createCell(value), value.descriptorCount)
            case .cellCreated:
                let value = try CellCreated(from: &reader)
                (message, expected) = (.cellCreated(value), value.descriptorCount)
            case .destroyCell:
                let value = try DestroyCell(from: &reader)
                (message, expected) = (.destroyCell(value), value.descriptorCount)
            case .cellDestroyed:
                let value = try CellDestroyed(from: &reader)
                (message, expected) = (.cellDestroyed(value), value.descriptorCount)
            case .readCounters:
                let value = try ReadCounters(from: &reader)
                (message, expected) = (.readCounters(value), value.descriptorCount)
            case .countersReport:
                let value = try CountersReport(from: &reader)
                (message, expected) = (.countersReport(value), value.descriptorCount)
            case .spawnWorkload:
                let value = try SpawnWorkload(from: &reader)
                (message, expected) = (.spawnWorkload(value), value.descriptorCount)
            case .workloadSpawned:
                let value = try WorkloadSpawned(from: &reader)
                (message, expected) = (.workloadSpawned(value), value.descriptorCount)
            case .startWorkload:
                let value = try StartWorkload(from: &reader)
                (message, expected) = (.startWorkload(value), value.descriptorCount)
            case .workloadStarted:
                let value = try WorkloadStarted(from: &reader)
                (message, expected) = (.workloadStarted(value), value.descriptorCount)
            case .signalWorkload:
                let value = try SignalWorkload(from: &reader)
                (message, expected) = (.signalWorkload(value), value.descriptorCount)
            case .workloadSignalled:
                let value = try WorkloadSignalled(from: &reader)
                (message, expected) = (.workloadSignalled(value), value.descriptorCount)
            case .workloadExited:
                let value = try WorkloadExited(from: &reader)
                (message, expected) = (.workloadExited(value), value.descriptorCount)
            case .readStatus:
                let value = try ReadStatus(from: &reader)
                (message, expected) = (.readStatus(value), value.descriptorCount)
            case .statusReport:
                let value = try StatusReport(from: &reader)
                (message, expected) = (.statusReport(value), value.descriptorCount)
            }
        }
        try reader.finish()
        guard expected == descriptorCount else {
            throw .descriptorCountMismatch(declared: expected, received: descriptorCount)
        }
        return message
    }
}

/// Message types. Ranges keep later additions from colliding: 1–255 are common to
/// every peer; 256–511 are `cellos-netnsd` requests and replies
/// (`Sources/IPCWire/Netnsd/`). A type outside this enum is refused by every
/// decoder (`WireError.unknownMessageType`).
///
/// netnsd's messages live here, not in NetnsdCore, so an unprivileged peer (the
/// broker) can speak the protocol without linking netnsd's privileged code
/// (libnftables, libmnl, libcap), and so `Frame.decodeAny` and the `ipc-frame`
/// fuzz target cover every type the suite sends.
public enum MessageType: UInt16, Sendable, CaseIterable {
    case errorReply = 1
    case descriptorBundle = 2

    case createCell = 256
    case cellCreated = 257
    case destroyCell = 258
    case cellDestroyed = 259
    case readCounters = 260
    case countersReport = 261
    case spawnWorkload = 262
    case workloadSpawned = 263
    case startWorkload = 264
    case workloadStarted = 265
    case signalWorkload = 266
    case workloadSignalled = 267
    /// Sent by netnsd on its own (request id 0) when it reaps a cell's workload.
    case workloadExited = 268
    case readStatus = 269
    case statusReport = 270
}

/// A typed message: how it is encoded into a frame payload, how many descriptors
/// must travel with it, and a strict decoder (trailing bytes are refused by the
/// frame layer after `init(from:)` returns).
public protocol WireMessage: Sendable, Equatable {
    static var messageType: MessageType { get }
    /// How many descriptors a frame carrying this message must have attached.
    var descriptorCount: Int { get }
    func encode(to writer: inout WireWriter)
    init(from reader: inout WireReader) throws(WireError)
}

extension WireMessage {
    public var descriptorCount: Int { 0 }
}

/// The decoder for every known message type, for code that receives whatever comes
/// (a dispatcher, the fuzz target).
public enum WireMessageRegistry {
    public static func messageType(for raw: UInt16) -> (any WireMessage.Type)? {
        guard let type = MessageType(rawValue: raw) else { return nil }
        switch type {
        case .errorReply: return ErrorReply.self
        case .descriptorBundle: return DescriptorBundle.self
        case .createCell: return CreateCell.self
        case .cellCreated: return CellCreated.self
        case .destroyCell: return DestroyCell.self
        case .cellDestroyed: return CellDestroyed.self
        case .readCounters: return ReadCounters.self
        case .countersReport: return CountersReport.self
        case .spawnWorkload: return SpawnWorkload.self
        case .workloadSpawned: return WorkloadSpawned.self
        case .startWorkload: return StartWorkload.self
        case .workloadStarted: return WorkloadStarted.self
        case .signalWorkload: return SignalWorkload.self
        case .workloadSignalled: return WorkloadSignalled.self
        case .workloadExited: return WorkloadExited.self
        case .readStatus: return ReadStatus.self
        case .statusReport: return StatusReport.self
        }
    }
}

/// Asks netnsd which cells exist (`cellos-netnsd ctl status`, `cellos-broker
/// audit`). No fields: an ordinary client is answered with its own
/// connection's cells, an admin peer (`--admin-uid`/`--admin-gid`) with every
/// connection's.
public struct ReadStatus: NetnsdMessage {
    public static let messageType = MessageType.readStatus
    public init() {}
    public func encode(to writer: inout WireWriter) {}
    public init(from reader: inout WireReader) throws(WireError) {}
}

/// The reply to `ReadStatus`: one entry per live cell, as many as fit in one
/// frame (`truncated` says some were left out).
public struct StatusReport: NetnsdMessage {
    public static let messageType = MessageType.statusReport

    /// Which cells the report covers.
    public enum Scope: UInt8, Sendable, Equatable {
        /// The requesting connection's cells only.
        case ownConnection = 0
        /// Every connection's cells (an admin peer).
        case allConnections = 1
    }

    public var scope: Scope
    /// Cells were left out because the frame would exceed `FrameHeader.maxFrameSize`.
    public var truncated: Bool
    public var cells: [CellStatus]

    public init(scope: Scope, truncated: Bool, cells: [CellStatus]) {
        self.scope = scope
        self.truncated = truncated
        self.cells = cells
    }

    /// The report of `cells` that fits one frame: entries in order until the
    /// next one would not fit, then `truncated`.
    public static func fitting(scope: Scope, cells: [CellStatus]) -> StatusReport {
        // scope u8 + truncated u8 + count u32.
        var size = FrameHeader.size + 6
        var kept: [CellStatus] = []
        for cell in cells {
            var writer = WireWriter()
            cell.encode(to: &writer)
            guard size + writer.bytes.count <= FrameHeader.maxFrameSize else {
                return StatusReport(scope: scope, truncated: true, cells: kept)
            }
            size += writer.bytes.count
            kept.append(cell)
        }
        return StatusReport(scope: scope, truncated: false, cells: kept)
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(scope.rawValue)
        writer.write(truncated)
        writer.write(UInt32(cells.count))
        for cell in cells { cell.encode(to: &writer) }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        let rawScope: UInt8 = try reader.read("scope")
        guard let scope = Scope(rawValue: rawScope) else { throw .invalidField(field: "scope", reason: "\(rawScope) is not 0 (own) or 1 (all)") }
        self.scope = scope
        truncated = try reader.readBool("truncated")
        let count: UInt32 = try reader.read("cells")
        // Each entry takes more than CellStatus.minimumSize bytes: check before allocating.
        guard Int(count) * CellStatus.minimumSize <= reader.remaining else { throw .truncatedPayload(field: "cells") }
        var cells: [CellStatus] = []
        for index in 0..<Int(count) { cells.append(try CellStatus(from: &reader, index: index)) }
        self.cells = cells
    }
}

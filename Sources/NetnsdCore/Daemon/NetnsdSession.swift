import IPCWire

/// One client connection's authority: the cells it created, each with its state,
/// and the fixed table of requests it may send. A request is decoded and checked
/// in full (type, fields, descriptor count, cell state) before anything changes;
/// a refused request has no side effect. Cells of other connections are invisible:
/// their ids are simply unknown here.
public final class NetnsdSession {
    /// A cell's lifecycle as this connection sees it.
    public enum CellState: Sendable, Equatable {
        case ready
        /// Destroyed; `DestroyCell` again is answered (idempotent), `CreateCell` with
        /// the same id is refused so replies stay unambiguous.
        case destroyed
    }

    /// Error codes in `ErrorReply.code`.
    public enum ErrorCode {
        public static let invalidRequest = "invalid_request"
        public static let invalidState = "invalid_state"
        public static let unknownCell = "unknown_cell"
        public static let setupFailed = "setup_failed"
        public static let unauthorized = "unauthorized"
        public static let limitExceeded = "limit_exceeded"
    }

    /// Live cells one connection may hold: each costs a netns and descriptors.
    public static let defaultMaxCells = 256

    private final class Slot {
        var cell: Cell?
        var state: CellState
        init(cell: consuming Cell) {
            self.cell = .some(cell)
            self.state = .ready
        }
    }

    public let peer: PeerCredentials
    private let flowLogSocket: FlowLogSocketOpener?
    private var slots: [CellID: Slot] = [:]

    private let maxCells: Int
    private let pinNamespaces: Bool
    private let uplink: UplinkSettings?

    /// `pinNamespaces`: bind-mount every created cell's netns at
    /// `/run/netns/cellos-<id>` (`--pin`), removed on destroy.
    public init(
        peer: PeerCredentials, flowLogSocket: FlowLogSocketOpener? = nil, maxCells: Int = NetnsdSession.defaultMaxCells,
        pinNamespaces: Bool = false, uplink: UplinkSettings? = nil
    ) {
        self.uplink = uplink
        self.peer = peer
        self.flowLogSocket = flowLogSocket
        self.maxCells = maxCells
        self.pinNamespaces = pinNamespaces
    }

    public func state(of id: CellID) -> CellState? { slots[id]?.state }

    /// Handles one request frame and returns the reply frame (never throws: every
    /// refusal is an `ErrorReply` with the request's id).
    public func handle(_ frame: consuming Frame) -> Frame {
        let requestID = frame.header.requestID
        guard !frame.header.flags.contains(.response) else {
            return Self.error(ErrorCode.invalidRequest, "a response frame is not a request", requestID)
        }
        let message: NetnsdFrame.Message
        do {
            message = try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: frame.descriptors.count)
        } catch {
            return Self.error(ErrorCode.invalidRequest, "\(error)", requestID)
        }
        switch message {
        case .createCell(let request):
            let attached: OwnedFD? = request.attach ? frame.descriptors.take(0) : nil
            return create(request, attached: attached, requestID: requestID)
        case .destroyCell(let request):
            return destroy(request.cellID, requestID: requestID)
        case .readCounters(let request):
            return readCounters(request.cellID, requestID: requestID)
        case .cellCreated, .cellDestroyed, .countersReport, .error:
            return Self.error(ErrorCode.invalidRequest, "message type \(frame.header.messageType) is a reply, not a request", requestID)
        }
    }

    private func create(_ request: CreateCell, attached: consuming OwnedFD?, requestID: UInt32) -> Frame {
        if let slot = slots[request.cellID] {
            let what = slot.state == .ready ? "exists" : "was destroyed; ids are not reused on a connection"
            return Self.error(ErrorCode.invalidState, "cell \(request.cellID) \(what)", requestID)
        }
        let live = slots.values.filter { $0.state == .ready }.count
        guard live < maxCells else {
            return Self.error(ErrorCode.limitExceeded, "this connection already holds \(live) cells (limit \(maxCells))", requestID)
        }
        let cell: Cell
        do {
            if let attached = consume attached {
                cell = try CellFactory.attach(id: request.cellID, namespace: attached, policy: request.policy, flowLogSocket: flowLogSocket)
            } else {
                cell = try CellFactory.create(
                    id: request.cellID, policy: request.policy, flowLogSocket: flowLogSocket, pin: pinNamespaces,
                    uplink: uplink)
            }
        } catch {
            let code = switch error {
            case .hostNamespace, .notANetworkNamespace, .invalidCellID: ErrorCode.invalidRequest
            case .setupFailed: ErrorCode.setupFailed
            }
            return Self.error(code, "\(error)", requestID)
        }
        // Duplicates for the reply: the kernel copies them into the message, and the
        // cell keeps its own descriptors for as long as it lives.
        var descriptors = DescriptorSet()
        var names = CellCreated.requiredNames
        do {
            descriptors.append(try cell.namespace.duplicate())
            descriptors.append(try cell.dnsUDP.duplicate())
            descriptors.append(try cell.dnsTCP.duplicate())
            switch cell.flowLog {
            case .some(let flowLog):
                descriptors.append(try flowLog.duplicate())
                names.append("nflog")
            case .none: break
            }
        } catch {
            try? cell.destroy()
            return Self.error(ErrorCode.setupFailed, "\(error)", requestID)
        }
        slots[request.cellID] = Slot(cell: cell)
        return NetnsdFrame.make(
            CellCreated(cellID: request.cellID, names: names), requestID: requestID, flags: .response, descriptors: descriptors)
    }

    private func destroy(_ id: CellID, requestID: UInt32) -> Frame {
        guard let slot = slots[id] else {
            return Self.error(ErrorCode.unknownCell, "no cell \(id) on this connection", requestID)
        }
        if let cell = slot.cell.take() {
            slot.state = .destroyed
            do {
                try cell.destroy()
            } catch {
                return Self.error(ErrorCode.setupFailed, "destroying cell \(id): \(error)", requestID)
            }
        }
        return NetnsdFrame.make(CellDestroyed(cellID: id), requestID: requestID, flags: .response)
    }

    private func readCounters(_ id: CellID, requestID: UInt32) -> Frame {
        guard let slot = slots[id] else {
            return Self.error(ErrorCode.unknownCell, "no cell \(id) on this connection", requestID)
        }
        let counters: RuleCounters
        switch slot.cell {
        case .some(let cell):
            do {
                counters = try cell.readCounters()
            } catch {
                return Self.error(ErrorCode.setupFailed, "reading counters of cell \(id): \(error)", requestID)
            }
        case .none:
            return Self.error(ErrorCode.invalidState, "cell \(id) was destroyed", requestID)
        }
        let entries = counters.entries.map { CountersReport.Entry(label: $0.label, packets: $0.count.packets, bytes: $0.count.bytes) }
        return NetnsdFrame.make(CountersReport(cellID: id, entries: entries), requestID: requestID, flags: .response)
    }

    /// Destroys every live cell of this connection (it closed or the daemon stops);
    /// returns how many there were.
    @discardableResult
    public func destroyAll() -> Int {
        var count = 0
        for (id, slot) in slots {
            guard let cell = slot.cell.take() else { continue }
            slot.state = .destroyed
            count += 1
            do { try cell.destroy() } catch { NetnsdLog.write("destroying cell \(id): \(error)") }
        }
        return count
    }

    static func error(_ code: String, _ message: String, _ requestID: UInt32) -> Frame {
        Frame(ErrorReply(code: code, message: String(message.prefix(ErrorReply.maxMessageLength))), requestID: requestID, flags: .response)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// One client connection's authority: the cells it created, each with its state,
/// and the fixed table of requests it may send (`RequestTable`). A request is
/// decoded and checked in full (type, fields, descriptor count, role, cell state
/// and workload phase) by one gate before any handler runs; a refused request
/// has no side effect. Cells of other connections are invisible: their ids are
/// simply unknown here.
///
/// The handlers are in `NetnsdSession+Cells.swift` and `+Workloads.swift`, the
/// reaper threads in `+Reaper.swift`, ReadStatus in `+Status.swift`.
public final class NetnsdSession: @unchecked Sendable {
    // @unchecked: every access to `slots` holds `lock` (requests come from the
    // connection's thread, exits from the workload reaper threads).
    /// A cell's lifecycle as this connection sees it.
    public enum CellState: Sendable, Hashable {
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

    /// Live cells one connection may hold (`--max-cells-per-connection`).
    public static let defaultMaxCells = NetnsdLimits.defaults.maxCellsPerConnection

    /// A cell's workload as this connection sees it.
    public enum WorkloadPhase: String, Sendable, Hashable, CaseIterable {
        case none, parked, running, exited
    }

    /// Receives `WorkloadExited` when a workload is reaped (on the reaper's thread).
    public typealias ExitSink = @Sendable (WorkloadExited) -> Void

    public let peer: PeerCredentials
    /// How the connection was admitted (`--allow-*` and/or `--admin-*`).
    public let role: ConnectionRole
    let configuration: Configuration
    let backend: any CellBackend
    var slots: [CellID: CellSlot] = [:]
    /// Requests and the workload reaper threads both change the slots.
    let lock = SessionLock()
    /// Reaper threads that have not yet removed their workload's cgroups (under `lock`).
    var liveReapers = 0
    /// The kernel's Landlock ABI (0: none); tests lower it to see the other layers alone.
    var landlockABI = LandlockRules.detectedABI

    init(peer: PeerCredentials, role: ConnectionRole = .client, configuration: Configuration = Configuration(), backend: any CellBackend) {
        self.peer = peer
        self.role = role
        self.configuration = configuration
        self.backend = backend
    }

    /// A session on the kernel backend. `pinNamespaces`: bind-mount every created
    /// cell's netns at `/run/netns/cellos-<id>` (`--pin`), removed on destroy.
    public convenience init(
        peer: PeerCredentials, flowLogSocket: FlowLogSocketOpener? = nil, maxCells: Int = NetnsdSession.defaultMaxCells,
        pinNamespaces: Bool = false, pinLedger: String? = nil, uplink: UplinkSettings? = nil, exitSink: ExitSink? = nil,
        cgroups: CgroupSettings? = nil, allowRootWorkloads: Bool = false,
        identities: WorkloadIdentities = WorkloadIdentities(range: .default, scan: ProcessIdentityScan.scan), budget: CellBudget? = nil,
        role: ConnectionRole = .client, registry: SessionRegistry? = nil
    ) {
        self.init(
            peer: peer, role: role,
            configuration: Configuration(
                maxCells: maxCells, budget: budget, identities: identities, allowRootWorkloads: allowRootWorkloads, registry: registry,
                exitSink: exitSink),
            backend: KernelCellBackend(
                flowLogSocket: flowLogSocket, pinNamespaces: pinNamespaces, pinLedger: pinLedger, uplink: uplink, cgroups: cgroups))
    }

    public func state(of id: CellID) -> CellState? {
        lock.lock()
        defer { lock.unlock() }
        return slots[id]?.state
    }

    public func workloadPhase(of id: CellID) -> WorkloadPhase? {
        lock.lock()
        defer { lock.unlock() }
        return slots[id]?.phase
    }

    /// Handles one request frame and returns the reply frame (never throws: every
    /// refusal is an `ErrorReply` with the request's id, and is logged).
    public func handle(_ frame: consuming Frame) -> Frame {
        let type = frame.header.messageType
        let reply = dispatch(frame)
        // Refused by the gate or by a handler: every ErrorReply is logged.
        if let refusal = Self.refusal(in: reply) {
            configuration.log("refused request type \(type) from \(peer): \(refusal.code): \(refusal.message)")
        }
        return reply
    }

    /// Decode, gate, handler.
    private func dispatch(_ frame: consuming Frame) -> Frame {
        let requestID = frame.header.requestID
        let request: NetnsdRequest
        switch decodeRequest(frame.header, frame.payload, descriptorCount: frame.descriptors.count) {
        case .failure(let refusal): return Self.error(refusal, requestID)
        case .success(let decoded): request = decoded
        }
        let rule = RequestTable.rule(for: request.kind)
        if rule.sessionLock { lock.lock() }
        defer { if rule.sessionLock { lock.unlock() } }
        let slot = rule.sessionLock ? request.cellID.flatMap { slots[$0] } : nil
        if let refusal = gate(rule, request, slot: slot) { return Self.error(refusal, requestID) }
        return rule.handler(self, request, &frame.descriptors, RequestContext(requestID: requestID, slot: slot))
    }

    private func decodeRequest(_ header: FrameHeader, _ payload: [UInt8], descriptorCount: Int) -> Result<NetnsdRequest, RefusedRequest> {
        guard !header.flags.contains(.response) else { return .failure(RefusedRequest("a response frame is not a request")) }
        let message: NetnsdFrame.Message
        do {
            message = try NetnsdFrame.decode(header: header, payload: payload, descriptorCount: descriptorCount)
        } catch {
            return .failure(RefusedRequest("\(error)"))
        }
        guard let request = NetnsdRequest(message) else {
            return .failure(RefusedRequest("message type \(header.messageType) is a reply, not a request"))
        }
        return .success(request)
    }

    /// The one gate: the request's role, cell state, once flag and workload phase
    /// against its row of `RequestTable`. nil: permitted.
    func gate(_ rule: RequestRule, _ request: NetnsdRequest, slot: CellSlot?) -> RefusedRequest? {
        let name = rule.kind.rawValue
        guard role != .adminOnly || rule.adminOnly else {
            return RefusedRequest(
                "peer \(peer) is admitted only as an admin (--admin-uid/--admin-gid): it may send ReadStatus only", code: ErrorCode.unauthorized)
        }
        guard let states = rule.cellStates, let id = request.cellID else { return nil }
        let presence: CellPresence = switch slot?.state {
        case nil: .absent
        case .ready: .ready
        case .destroyed: .destroyed
        }
        guard states.contains(presence) else {
            return switch presence {
            case .absent: RefusedRequest("no cell \(id) on this connection", code: ErrorCode.unknownCell)
            case .ready: RefusedRequest("cell \(id) exists", code: ErrorCode.invalidState)
            case .destroyed where rule.kind == .createCell:
                RefusedRequest("cell \(id) was destroyed; ids are not reused on a connection", code: ErrorCode.invalidState)
            case .destroyed: RefusedRequest("cell \(id) was destroyed", code: ErrorCode.invalidState)
            }
        }
        guard let slot else { return nil }
        if rule.once && slot.handledOnce.contains(rule.kind) {
            return RefusedRequest("cell \(id): \(name) is allowed once per cell (workload \(slot.phase))", code: ErrorCode.invalidState)
        }
        if let phases = rule.phases, !phases.contains(slot.phase) {
            let permitted = WorkloadPhase.allCases.filter(phases.contains).map(\.rawValue).joined(separator: " or ")
            return RefusedRequest("cell \(id): \(name) needs a workload \(permitted) (workload \(slot.phase))", code: ErrorCode.invalidState)
        }
        return nil
    }

    private static func refusal(in reply: borrowing Frame) -> RefusedRequest? {
        guard reply.header.messageType == MessageType.errorReply.rawValue,
            case .error(let error)? = try? NetnsdFrame.decode(header: reply.header, payload: reply.payload, descriptorCount: 0)
        else { return nil }
        return RefusedRequest(error.message, code: error.code)
    }

    static func error(_ refusal: RefusedRequest, _ requestID: UInt32) -> Frame {
        error(refusal.code, refusal.message, requestID)
    }

    static func error(_ code: String, _ message: String, _ requestID: UInt32) -> Frame {
        Frame(ErrorReply(code: code, message: String(message.prefix(ErrorReply.maxMessageLength))), requestID: requestID, flags: .response)
    }

    static func reply<M: NetnsdMessage>(_ message: M, _ context: RequestContext, descriptors: consuming DescriptorSet = DescriptorSet()) -> Frame {
        NetnsdFrame.make(message, requestID: context.requestID, flags: .response, descriptors: descriptors)
    }
}

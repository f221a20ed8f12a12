#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// One client connection's authority: the cells it created, each with its state,
/// and the fixed table of requests it may send. A request is decoded and checked
/// in full (type, fields, descriptor count, cell state) before anything changes;
/// a refused request has no side effect. Cells of other connections are invisible:
/// their ids are simply unknown here.
public final class NetnsdSession: @unchecked Sendable {
    // @unchecked: every access to `slots` holds `lock` (requests come from the
    // connection's thread, exits from the workload reaper threads).
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

    /// Live cells one connection may hold (`--max-cells-per-connection`).
    public static let defaultMaxCells = NetnsdLimits.defaults.maxCellsPerConnection

    /// A cell's workload as this connection sees it.
    public enum WorkloadPhase: Sendable, Equatable {
        case none, parked, running, exited
    }

    private final class Slot {
        var cell: Cell?
        /// Torn down by DestroyCell, its descriptors still open until the reply is
        /// out (`closeDestroyedCells`).
        var closing: Cell?
        var state: CellState
        var workload: ParkedWorkload?
        var cgroups: WorkloadCgroups?
        var phase: WorkloadPhase = .none
        /// `Monotonic.milliseconds()` at CreateCell, for the status age.
        let createdAt = Monotonic.milliseconds()
        /// What WorkloadSpawned reported (for ReadStatus): the ids and the layers.
        var spawned: (uid: UInt32, gid: UInt32, confinement: [ConfinementLayer])?
        init(cell: consuming Cell) {
            self.cell = .some(cell)
            self.state = .ready
        }
    }

    /// Receives `WorkloadExited` when a workload is reaped (on the reaper's thread).
    public typealias ExitSink = @Sendable (WorkloadExited) -> Void

    public let peer: PeerCredentials
    /// How the connection was admitted (`--allow-*` and/or `--admin-*`).
    public let role: ConnectionRole
    /// Every connection's sessions, for an admin's ReadStatus; nil: own cells only.
    private let registry: SessionRegistry?
    private let flowLogSocket: FlowLogSocketOpener?
    private var slots: [CellID: Slot] = [:]

    private let maxCells: Int
    /// The daemon-wide live-cell count (`--max-cells`); nil: no daemon-wide cap.
    private let budget: CellBudget?
    private let pinNamespaces: Bool
    private let pinLedger: String?
    /// The daemon-wide book of workload uid/gid pairs (the server's, shared by all sessions).
    private let identities: WorkloadIdentities
    private let uplink: UplinkSettings?
    private let exitSink: ExitSink?
    private let cgroups: CgroupSettings?
    /// uid/gid 0 for workloads only when the daemon was started with
    /// `--allow-root-workloads`; even then the workload gets no capability.
    private let allowRootWorkloads: Bool
    /// Requests and the workload reaper threads both change the slots.
    private let lock = SessionLock()
    /// Reaper threads that have not yet removed their workload's cgroups (under `lock`).
    private var liveReapers = 0
    /// The kernel's Landlock ABI (0: none); tests lower it to see the other layers alone.
    var landlockABI = LandlockRules.detectedABI

    /// `pinNamespaces`: bind-mount every created cell's netns at
    /// `/run/netns/cellos-<id>` (`--pin`), removed on destroy.
    public init(
        peer: PeerCredentials, flowLogSocket: FlowLogSocketOpener? = nil, maxCells: Int = NetnsdSession.defaultMaxCells,
        pinNamespaces: Bool = false, pinLedger: String? = nil, uplink: UplinkSettings? = nil, exitSink: ExitSink? = nil,
        cgroups: CgroupSettings? = nil, allowRootWorkloads: Bool = false,
        identities: WorkloadIdentities = WorkloadIdentities(range: .default, scan: ProcessIdentityScan.scan), budget: CellBudget? = nil,
        role: ConnectionRole = .client, registry: SessionRegistry? = nil
    ) {
        self.role = role
        self.registry = registry
        self.identities = identities
        self.budget = budget
        self.allowRootWorkloads = allowRootWorkloads
        self.cgroups = cgroups
        self.exitSink = exitSink
        self.uplink = uplink
        self.peer = peer
        self.flowLogSocket = flowLogSocket
        self.maxCells = maxCells
        self.pinNamespaces = pinNamespaces
        self.pinLedger = pinLedger
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
        // Without this session's lock: an admin's status takes other sessions' locks
        // one at a time (lock order in SessionRegistry).
        if case .readStatus = message { return status(requestID: requestID) }
        guard role != .adminOnly else {
            return Self.error(
                ErrorCode.unauthorized, "peer \(peer) is admitted only as an admin (--admin-uid/--admin-gid): it may send ReadStatus only",
                requestID)
        }
        lock.lock()
        defer { lock.unlock() }
        switch message {
        case .createCell(let request):
            let attached: OwnedFD? = request.attach ? frame.descriptors.take(0) : nil
            return create(request, attached: attached, requestID: requestID)
        case .destroyCell(let request):
            return destroy(request.cellID, requestID: requestID)
        case .readCounters(let request):
            return readCounters(request.cellID, requestID: requestID)
        case .spawnWorkload(let request):
            // The stdio descriptors stay owned by the frame, open until the child has dup'ed them.
            let stdio = request.stdio ? (0..<3).map { frame.descriptors.raw($0) } : nil
            return spawn(request, stdio: stdio, requestID: requestID)
        case .startWorkload(let request):
            return start(request.cellID, requestID: requestID)
        case .signalWorkload(let request):
            return signal(request, requestID: requestID)
        case .readStatus:
            return status(requestID: requestID)
        case .cellCreated, .cellDestroyed, .countersReport, .workloadSpawned, .workloadStarted, .workloadSignalled,
            .workloadExited, .statusReport, .error:
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
            return Self.error(
                ErrorCode.limitExceeded, "this connection already holds \(live) cells (--max-cells-per-connection \(maxCells))", requestID)
        }
        if let shortage = DescriptorHeadroom.shortage() {
            return Self.error(ErrorCode.limitExceeded, DescriptorHeadroom.refusal(open: shortage.open, limit: shortage.limit), requestID)
        }
        if let budget, !budget.reserve() {
            return Self.error(
                ErrorCode.limitExceeded, "cellos-netnsd already holds \(budget.limit) cells across all connections (--max-cells \(budget.limit))",
                requestID)
        }
        // Until the cell is in a slot, every refusal below gives its budget back.
        var reserved = budget != nil
        defer { if reserved { budget?.release() } }
        let cell: Cell
        do {
            if let attached = consume attached {
                cell = try CellFactory.attach(id: request.cellID, namespace: attached, policy: request.policy, flowLogSocket: flowLogSocket)
            } else {
                cell = try CellFactory.create(
                    id: request.cellID, policy: request.policy, flowLogSocket: flowLogSocket, pin: pinNamespaces,
                    pinLedger: pinLedger, uplink: uplink)
            }
        } catch {
            let code = switch error {
            case .hostNamespace, .notANetworkNamespace, .ipv6RuleWithoutIPv6Uplink: ErrorCode.invalidRequest
            case .setupFailed: ErrorCode.setupFailed
            case .outOfResources: ErrorCode.limitExceeded
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
            switch cell.l7Listener {
            case .some(let listener):
                descriptors.append(try listener.duplicate())
                names.append("l7-tcp")
            case .none: break
            }
        } catch {
            try? cell.destroy()
            let code = CellError.exhaustionErrors.contains(error.errno) ? ErrorCode.limitExceeded : ErrorCode.setupFailed
            return Self.error(code, "cell \(request.cellID): duplicating its descriptors for the reply: \(error)", requestID)
        }
        slots[request.cellID] = Slot(cell: cell)
        reserved = false
        return NetnsdFrame.make(
            CellCreated(cellID: request.cellID, names: names), requestID: requestID, flags: .response, descriptors: descriptors)
    }

    private func destroy(_ id: CellID, requestID: UInt32) -> Frame {
        guard let slot = slots[id] else {
            return Self.error(ErrorCode.unknownCell, "no cell \(id) on this connection", requestID)
        }
        if var cell = slot.cell.take() {
            slot.state = .destroyed
            budget?.release()
            Self.kill(slot)
            do {
                try cell.tearDown()
            } catch {
                return Self.error(ErrorCode.setupFailed, "destroying cell \(id): \(error)", requestID)
            }
            slot.closing = consume cell
        }
        return NetnsdFrame.make(CellDestroyed(cellID: id), requestID: requestID, flags: .response)
    }

    /// Closes the descriptors of cells DestroyCell tore down; the server calls it
    /// once the reply is sent, so the client does not wait for the kernel.
    public func closeDestroyedCells() {
        lock.lock()
        defer { lock.unlock() }
        for slot in slots.values { slot.closing = nil }
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
        lock.lock()
        defer { lock.unlock() }
        var count = 0
        for (id, slot) in slots {
            slot.closing = nil
            guard let cell = slot.cell.take() else { continue }
            slot.state = .destroyed
            budget?.release()
            Self.kill(slot)
            count += 1
            do { try cell.destroy() } catch { NetnsdLog.write("destroying cell \(id): \(error)", priority: .error) }
        }
        return count
    }

    /// Waits until every workload reaper has removed its cgroups (after
    /// `destroyAll`, so a closing connection or a stopping daemon leaves no leaf
    /// behind); false if some are still busy after `timeoutMilliseconds`.
    @discardableResult
    public func waitForReapers(timeoutMilliseconds: Int = 4000) -> Bool {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while true {
            lock.lock()
            let live = liveReapers
            lock.unlock()
            if live == 0 { return true }
            if Monotonic.milliseconds() >= deadline { return false }
            usleep(5_000)
        }
    }

    // MARK: Status

    /// ReadStatus: this connection's cells, or (an admin) every connection's.
    /// Called without `lock` held.
    private func status(requestID: UInt32) -> Frame {
        let all = role.seesAllCells
        let cells = all ? (registry?.allCells() ?? cellStatuses()) : cellStatuses()
        let report = StatusReport.fitting(scope: all ? .allConnections : .ownConnection, cells: cells)
        return NetnsdFrame.make(report, requestID: requestID, flags: .response)
    }

    /// This connection's live cells as a status report lists them.
    func cellStatuses() -> [CellStatus] {
        lock.lock()
        defer { lock.unlock() }
        let now = Monotonic.milliseconds()
        var cells: [CellStatus] = []
        for (id, slot) in slots {
            let uplink: String?
            let pin: String?
            switch slot.cell {
            case .some(let cell):
                uplink = cell.uplink?.slot.hostInterface
                pin = cell.pin?.path
            case .none: continue
            }
            let phase: CellStatus.Phase = switch slot.phase {
            case .none: .none
            case .parked: .parked
            case .running: .running
            case .exited: .exited
            }
            cells.append(CellStatus(
                cellID: id, ageMilliseconds: UInt64(max(0, now - slot.createdAt)), ownerPID: peer.pid, ownerUID: peer.uid, ownerGID: peer.gid,
                workloadPID: phase == .parked || phase == .running ? slot.workload?.pid ?? 0 : 0, phase: phase,
                workloadUID: slot.spawned?.uid, workloadGID: slot.spawned?.gid, confinement: slot.spawned?.confinement ?? [],
                cgroupLeaves: (slot.cgroups?.leaves ?? []).map(\.path), uplink: uplink, pin: pin))
        }
        return cells.sorted { $0.ageMilliseconds > $1.ageMilliseconds }
    }

    // MARK: Workloads

    private func spawn(_ request: SpawnWorkload, stdio: [Int32]?, requestID: UInt32) -> Frame {
        guard let slot = slots[request.cellID] else {
            return Self.error(ErrorCode.unknownCell, "no cell \(request.cellID) on this connection", requestID)
        }
        guard slot.state == .ready, slot.phase == .none else {
            return Self.error(ErrorCode.invalidState, "cell \(request.cellID): SpawnWorkload is allowed once, on a live cell (workload \(slot.phase))", requestID)
        }
        let identity: WorkloadIdentity
        switch WorkloadIdentity.choose(for: request, allowRootWorkloads: allowRootWorkloads, identities: identities, peer: peer) {
        case .success(let chosen): identity = chosen
        case .failure(let refusal): return Self.error(refusal.code, refusal.message, requestID)
        }
        // Until the reaper owns them, every way out gives the ids back.
        var reaperOwnsIdentity = false
        defer { if !reaperOwnsIdentity { identity.release(to: identities) } }
        var sourceIsDirectory: [Bool] = []
        if request.filesystemView {
            switch FilesystemView.checkMounts(request) {
            case .success(let kinds): sourceIsDirectory = kinds
            case .failure(let refusal): return Self.error(ErrorCode.invalidRequest, refusal.message, requestID)
            }
        }
        let workload: ParkedWorkload
        let confinement: ChildConfinement
        switch slot.cell {
        case .some(let cell):
            do {
                let filter: [UInt8]
                do { filter = try BaselineSeccomp.compile(request.seccompProfile) } catch {
                    throw CellError.setupFailed(cell: request.cellID.value, step: "compiling the \(request.seccompProfile.name) seccomp filter", reason: "\(error)")
                }
                let resolvConf: String
                do {
                    resolvConf = try ResolvConf.write(cell.policy.resolver)
                    if request.filesystemView { try FilesystemView.prepareMountPoint() }
                } catch {
                    throw CellError.setupFailed(cell: request.cellID.value, step: "preparing the cell's resolv.conf", reason: "\(error)")
                }
                // The child's mount keeps the file; its name is gone once the child is parked.
                defer { unlink(resolvConf) }
                let view = request.filesystemView
                    ? FilesystemView(request, identity: identity, resolvConf: resolvConf, sourceIsDirectory: sourceIsDirectory) : nil
                confinement = ChildConfinement(view: view, landlock: LandlockRules(abi: landlockABI, view: view, workspace: request.workspace), client: peer)
                workload = try ParkedWorkload.spawn(
                    request, as: identity, in: cell.namespace, resolvConf: resolvConf, confinement: confinement, seccompFilter: filter,
                    stdio: stdio)
            } catch {
                return Self.error(ErrorCode.setupFailed, "\(error)", requestID)
            }
        case .none:
            return Self.error(ErrorCode.invalidState, "cell \(request.cellID) was destroyed", requestID)
        }
        // Into its cgroup leaves while parked, so everything it will ever fork is inside.
        var workloadCgroups: WorkloadCgroups?
        let enforcement: [LimitEnforcement]
        if let cgroups {
            do {
                let created = try WorkloadCgroups.create(
                    cgroups, name: "cell-\(request.cellID)-\(workload.pid)", pid: workload.pid, limits: request.cgroupLimits,
                    endWorkload: {
                        try? workload.signal(SIGKILL)
                        _ = workload.waitForExit()
                    })
                workloadCgroups = created
                enforcement = created.enforcement
            } catch {
                // `create` killed and reaped the workload before removing its leaves.
                return Self.error(ErrorCode.setupFailed, "cell \(request.cellID): cgroup limits: \(error)", requestID)
            }
        } else {
            enforcement = WorkloadCgroups.withoutCgroupRoot(request.cgroupLimits)
        }
        for layer in ConfinementReport.optedOut(request) {
            NetnsdLog.write("cell \(request.cellID) workload \(workload.pid) opted out of its \(layer)")
        }
        for entry in enforcement where !entry.isEnforced {
            NetnsdLog.write("warning: cell \(request.cellID) workload \(workload.pid) runs without its \(entry.limit) limit: \(entry.summary)")
        }
        let layers = ConfinementReport.layers(for: request, identity: identity, confinement: confinement)
        slot.workload = workload
        slot.cgroups = workloadCgroups
        slot.phase = .parked
        slot.spawned = (identity.uid, identity.gid, layers)
        startReaper(for: workload, cgroups: workloadCgroups, identity: identity, cell: request.cellID)
        reaperOwnsIdentity = true
        return NetnsdFrame.make(
            WorkloadSpawned(
                cellID: request.cellID, pid: workload.pid, uid: identity.uid, gid: identity.gid,
                confinement: layers, enforcement: enforcement),
            requestID: requestID, flags: .response)
    }

    private func start(_ id: CellID, requestID: UInt32) -> Frame {
        guard let slot = slots[id] else { return Self.error(ErrorCode.unknownCell, "no cell \(id) on this connection", requestID) }
        guard slot.phase == .parked, let workload = slot.workload else {
            return Self.error(ErrorCode.invalidState, "cell \(id): StartWorkload needs a parked workload (workload \(slot.phase))", requestID)
        }
        do {
            try workload.start()
        } catch {
            return Self.error(ErrorCode.setupFailed, "starting the workload of cell \(id): \(error)", requestID)
        }
        slot.phase = .running
        return NetnsdFrame.make(WorkloadStarted(cellID: id), requestID: requestID, flags: .response)
    }

    private func signal(_ request: SignalWorkload, requestID: UInt32) -> Frame {
        let id = request.cellID
        guard let slot = slots[id] else { return Self.error(ErrorCode.unknownCell, "no cell \(id) on this connection", requestID) }
        guard slot.phase == .parked || slot.phase == .running, let workload = slot.workload else {
            return Self.error(ErrorCode.invalidState, "cell \(id): no live workload (workload \(slot.phase))", requestID)
        }
        do {
            try workload.signal(request.signal)
        } catch {
            return Self.error(ErrorCode.setupFailed, "\(error)", requestID)
        }
        return NetnsdFrame.make(WorkloadSignalled(cellID: id), requestID: requestID, flags: .response)
    }

    /// One thread per workload waits for it, then records the exit and reports it.
    /// The workload's ids go back to `identities` once it is reaped, before
    /// WorkloadExited is sent.
    private func startReaper(for workload: ParkedWorkload, cgroups: WorkloadCgroups?, identity: WorkloadIdentity, cell id: CellID) {
        let sink = exitSink
        let identities = identities
        liveReapers += 1
        do {
            try DetachedThread.start { [self] in
                let outcome = workload.waitForExit()
                let nothingLeft = Self.clearAfterReap(workload, cgroups: cgroups, identity: identity, identities: identities)
                lock.lock()
                if let slot = slots[id], slot.workload === workload {
                    slot.phase = .exited
                    slot.workload = nil
                    // Nothing in the cell can send any more: flush and end its flow
                    // log before the client learns of the exit, so the flow log
                    // reader has everything once WorkloadExited arrives. (With
                    // processes possibly left, the log stays open: their packets
                    // must still be logged.)
                    if nothingLeft { Self.endFlowLog(slot) }
                }
                liveReapers -= 1
                lock.unlock()
                sink?(WorkloadExited(
                    cellID: id, exitCode: outcome.exitCode, signal: outcome.signal, userMicroseconds: outcome.userMicroseconds,
                    systemMicroseconds: outcome.systemMicroseconds, maxResidentKilobytes: outcome.maxResidentKilobytes))
            }
        } catch {
            // Without a reaper the child would stay a zombie: end it and reap here.
            NetnsdLog.write("cannot start a reaper thread: \(error); killing workload \(workload.pid)", priority: .error)
            liveReapers -= 1
            cgroups?.killAll()
            try? workload.signal(SIGKILL)
            _ = workload.waitForExit()
            Self.clearAfterReap(workload, cgroups: cgroups, identity: identity, identities: identities)
        }
    }

    /// After `workload` is reaped: whatever it left in its cgroup is killed and the
    /// leaves removed, and its ids go back (held back unless nothing it forked can
    /// remain). Returns whether nothing can remain.
    @discardableResult
    private static func clearAfterReap(
        _ workload: ParkedWorkload, cgroups: WorkloadCgroups?, identity: WorkloadIdentity, identities: WorkloadIdentities
    ) -> Bool {
        cgroups?.killAll()
        let nothingLeft = cgroups?.remove() ?? workload.ownsPIDNamespace
        identity.release(to: identities, processesMayRemain: !nothingLeft)
        return nothingLeft
    }

    private static func endFlowLog(_ slot: Slot) {
        switch slot.cell {
        case .some(let cell):
            do { try cell.endFlowLog() } catch {
                NetnsdLog.write("cell \(cell.id): ending the flow log of group \(cell.policy.nflogGroup): \(error)", priority: .warning)
            }
        case .none: return
        }
    }

    /// A destroyed cell's workload is killed, with everything in its cgroup; its
    /// reaper then reaps it and removes the cgroup.
    private static func kill(_ slot: Slot) {
        guard slot.phase == .parked || slot.phase == .running else { return }
        slot.cgroups?.killAll()
        try? slot.workload?.signal(SIGKILL)
    }

    static func error(_ code: String, _ message: String, _ requestID: UInt32) -> Frame {
        Frame(ErrorReply(code: code, message: String(message.prefix(ErrorReply.maxMessageLength))), requestID: requestID, flags: .response)
    }
}

import IPCWire

/// The requests a client may send, named as on the wire and in docs/netnsd.md.
enum RequestKind: String, CaseIterable, Sendable {
    case createCell = "CreateCell"
    case readCounters = "ReadCounters"
    case spawnWorkload = "SpawnWorkload"
    case startWorkload = "StartWorkload"
    case signalWorkload = "SignalWorkload"
    case destroyCell = "DestroyCell"
    case readStatus = "ReadStatus"
}

/// A decoded request; reply types never become one.
enum NetnsdRequest: Sendable, Equatable {
    case createCell(CreateCell)
    case destroyCell(DestroyCell)
    case readCounters(ReadCounters)
    case spawnWorkload(SpawnWorkload)
    case startWorkload(StartWorkload)
    case signalWorkload(SignalWorkload)
    case readStatus(ReadStatus)

    /// nil for a reply or event type.
    init?(_ message: NetnsdFrame.Message) {
        switch message {
        case .createCell(let request): self = .createCell(request)
        case .destroyCell(let request): self = .destroyCell(request)
        case .readCounters(let request): self = .readCounters(request)
        case .spawnWorkload(let request): self = .spawnWorkload(request)
        case .startWorkload(let request): self = .startWorkload(request)
        case .signalWorkload(let request): self = .signalWorkload(request)
        case .readStatus(let request): self = .readStatus(request)
        case .cellCreated, .cellDestroyed, .countersReport, .workloadSpawned, .workloadStarted, .workloadSignalled,
            .workloadExited, .statusReport, .error:
            return nil
        }
    }

    var kind: RequestKind {
        switch self {
        case .createCell: .createCell
        case .destroyCell: .destroyCell
        case .readCounters: .readCounters
        case .spawnWorkload: .spawnWorkload
        case .startWorkload: .startWorkload
        case .signalWorkload: .signalWorkload
        case .readStatus: .readStatus
        }
    }

    /// The cell the request is about; nil for ReadStatus.
    var cellID: CellID? {
        switch self {
        case .createCell(let request): request.cellID
        case .destroyCell(let request): request.cellID
        case .readCounters(let request): request.cellID
        case .spawnWorkload(let request): request.cellID
        case .startWorkload(let request): request.cellID
        case .signalWorkload(let request): request.cellID
        case .readStatus: nil
        }
    }
}

/// Where a request's cell stands on this connection.
enum CellPresence: String, CaseIterable, Sendable {
    /// No cell with that id was ever created on this connection.
    case absent
    case ready
    case destroyed
}

/// How many descriptors travel with a message.
enum DescriptorRule: Equatable, Sendable {
    case none
    /// `count` when the message's boolean field `flag` is set, else none; plus,
    /// with `plusOnePer`, one per entry of that list field.
    case when(flag: String, count: Int, plusOnePer: String? = nil)
    case between(Int, Int)

    /// As docs/netnsd.md's request table writes it.
    var documented: String {
        switch self {
        case .none: "0"
        case .when(let flag, let count, nil): "\(flag) ? \(count) : 0"
        case .when(let flag, let count, let list?): "(\(flag) ? \(count) : 0) + one per \(list)"
        case .between(let low, let high): "\(low)–\(high)"
        }
    }
}

/// One row of the table: when a request is permitted, what it carries and
/// returns, and who handles it. `NetnsdSession.gate` applies the conditions
/// before the handler runs, so no handler checks a state.
struct RequestRule: Sendable {
    typealias Handler = @Sendable (NetnsdSession, NetnsdRequest, inout DescriptorSet, RequestContext) -> Frame

    let kind: RequestKind
    /// The cell states it is permitted in; nil: it names no cell.
    let cellStates: Set<CellPresence>?
    /// The workload phases it is permitted in; nil: any.
    let phases: Set<NetnsdSession.WorkloadPhase>?
    /// Handled successfully at most once per cell.
    let once: Bool
    let reply: MessageType
    let descriptorsIn: DescriptorRule
    let descriptorsOut: DescriptorRule
    /// Whether an admin-only connection (`ConnectionRole.adminOnly`) may send it.
    let adminOnly: Bool
    /// Handled under the session's lock; ReadStatus is not: it takes other
    /// sessions' locks one at a time (lock order in `SessionRegistry`).
    let sessionLock: Bool
    let handler: Handler
}

/// What the gate hands a handler: the request id and the cell's slot (nil only
/// for requests that name no cell or need it absent).
struct RequestContext {
    let requestID: UInt32
    let slot: CellSlot?
}

/// The one table of what a client may ask of netnsd (OpenSSH's `mon_dispatch`
/// arrays are the model). `RequestTableTests` checks it against docs/netnsd.md.
enum RequestTable {
    static let rules: [RequestRule] = [
        RequestRule(
            kind: .createCell, cellStates: [.absent], phases: nil, once: false, reply: .cellCreated,
            descriptorsIn: .when(flag: "attach", count: 1), descriptorsOut: .between(3, 6), adminOnly: false, sessionLock: true,
            handler: { session, request, descriptors, context in
                guard case .createCell(let create) = request else { return RequestTable.mismatch(request, context) }
                let attached: OwnedFD? = create.attach ? descriptors.take(0) : nil
                return session.create(create, attached: attached, context)
            }),
        RequestRule(
            kind: .readCounters, cellStates: [.ready], phases: nil, once: false, reply: .countersReport,
            descriptorsIn: .none, descriptorsOut: .none, adminOnly: false, sessionLock: true,
            handler: { session, request, _, context in session.readCounters(context) }),
        RequestRule(
            kind: .spawnWorkload, cellStates: [.ready], phases: [.none], once: true, reply: .workloadSpawned,
            descriptorsIn: .when(flag: "stdio", count: 3, plusOnePer: "secret_files"), descriptorsOut: .none, adminOnly: false, sessionLock: true,
            handler: { session, request, descriptors, context in
                guard case .spawnWorkload(let spawn) = request else { return RequestTable.mismatch(request, context) }
                // The stdio descriptors and secret memfds stay owned by the frame, open until the child has used them.
                let stdio = spawn.stdio ? (0..<3).map { descriptors.raw($0) } : nil
                let secrets = spawn.secretFiles.indices.map { descriptors.raw(spawn.firstSecretDescriptor + $0) }
                // Before any action (ids, view, fork): each is a sealed memfd of its declared size.
                if case .failure(let refusal) = SecretDescriptors.check(spawn, descriptors: secrets) { return NetnsdSession.error(refusal, context.requestID) }
                return session.spawn(spawn, stdio: stdio, secrets: secrets, context)
            }),
        RequestRule(
            kind: .startWorkload, cellStates: [.ready], phases: [.parked], once: true, reply: .workloadStarted,
            descriptorsIn: .none, descriptorsOut: .none, adminOnly: false, sessionLock: true,
            handler: { session, _, _, context in session.start(context) }),
        RequestRule(
            kind: .signalWorkload, cellStates: [.ready], phases: [.parked, .running], once: false, reply: .workloadSignalled,
            descriptorsIn: .none, descriptorsOut: .none, adminOnly: false, sessionLock: true,
            handler: { session, request, _, context in
                guard case .signalWorkload(let signal) = request else { return RequestTable.mismatch(request, context) }
                return session.signal(signal.signal, context)
            }),
        RequestRule(
            kind: .destroyCell, cellStates: [.ready, .destroyed], phases: nil, once: false, reply: .cellDestroyed,
            descriptorsIn: .none, descriptorsOut: .none, adminOnly: false, sessionLock: true,
            handler: { session, request, _, context in
                guard case .destroyCell(let destroy) = request else { return RequestTable.mismatch(request, context) }
                return session.destroy(destroy, context)
            }),
        RequestRule(
            kind: .readStatus, cellStates: nil, phases: nil, once: false, reply: .statusReport,
            descriptorsIn: .none, descriptorsOut: .none, adminOnly: true, sessionLock: false,
            handler: { session, _, _, context in session.status(requestID: context.requestID) }),
    ]

    private static let byKind = Dictionary(uniqueKeysWithValues: rules.map { ($0.kind, $0) })

    static func rule(for kind: RequestKind) -> RequestRule {
        // Every kind has a row (RequestTableTests); the table is a constant.
        byKind[kind]!
    }

    /// A row whose handler was given another kind's request: a bug in this table.
    static func mismatch(_ request: NetnsdRequest, _ context: RequestContext) -> Frame {
        NetnsdSession.error(NetnsdSession.ErrorCode.invalidRequest, "no handler for \(request.kind.rawValue) in this row", context.requestID)
    }
}

import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// Every request through every state a cell can be in, against `FakeCellBackend`
/// (no root): what docs/netnsd.md's request table permits is handled and gets
/// its documented reply; anything else is refused with the documented code,
/// logged, and reaches no backend operation and changes no state.
@Suite struct RequestWalkTests {
    typealias Phase = NetnsdSession.WorkloadPhase
    static let peer = PeerCredentials(pid: 1, uid: 1000, gid: 1000)
    static let id = try! CellID("walk")

    /// A cell state and workload phase, and how a session gets there.
    enum Setup: String, CaseIterable {
        case absent
        case readyNone, readyParked, readyRunning, readyExited
        case destroyedNone, destroyedParked, destroyedRunning, destroyedExited

        var presence: CellPresence {
            switch self {
            case .absent: .absent
            case .readyNone, .readyParked, .readyRunning, .readyExited: .ready
            case .destroyedNone, .destroyedParked, .destroyedRunning, .destroyedExited: .destroyed
            }
        }

        var phase: Phase {
            switch self {
            case .absent, .readyNone, .destroyedNone: .none
            case .readyParked, .destroyedParked: .parked
            case .readyRunning, .destroyedRunning: .running
            case .readyExited, .destroyedExited: .exited
            }
        }
    }

    /// Collects a session's refusal log.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        var sink: @Sendable (String) -> Void { { line in self.lock.withLock { self.lines.append(line) } } }
        var all: [String] { lock.withLock { lines } }
    }

    static func frame(_ kind: RequestKind, requestID: UInt32 = 7) throws -> Frame {
        switch kind {
        case .createCell: NetnsdFrame.make(CreateCell(cellID: id, policy: try EgressPolicy()), requestID: requestID)
        case .readCounters: NetnsdFrame.make(ReadCounters(cellID: id), requestID: requestID)
        case .spawnWorkload: NetnsdFrame.make(try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"]), requestID: requestID)
        case .startWorkload: NetnsdFrame.make(StartWorkload(cellID: id), requestID: requestID)
        case .signalWorkload: NetnsdFrame.make(try SignalWorkload(cellID: id, signal: 15), requestID: requestID)
        case .destroyCell: NetnsdFrame.make(DestroyCell(cellID: id), requestID: requestID)
        case .readStatus: NetnsdFrame.make(ReadStatus(), requestID: requestID)
        }
    }

    static func decode(_ reply: consuming Frame) throws -> NetnsdFrame.Message {
        #expect(reply.header.flags.contains(.response))
        return try NetnsdFrame.decode(header: reply.header, payload: reply.payload, descriptorCount: reply.descriptors.count)
    }

    static func name(_ message: NetnsdFrame.Message) -> String {
        let text = String(describing: message)
        let type = text.prefix { $0 != "(" }
        return type.prefix(1).uppercased() + type.dropFirst()
    }

    static func waitForPhase(_ phase: Phase, in session: NetnsdSession) -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if session.workloadPhase(of: id) == phase { return true }
            usleep(1_000)
        }
        return false
    }

    /// Brings a fresh session to `setup` through ordinary requests.
    static func prepare(_ setup: Setup, _ session: NetnsdSession, _ backend: FakeCellBackend) throws {
        func expectHandled(_ kind: RequestKind) throws {
            if case .error(let error) = try decode(session.handle(try frame(kind))) {
                Issue.record("preparing \(setup): \(kind.rawValue) refused: \(error)")
            }
        }
        guard setup != .absent else { return }
        try expectHandled(.createCell)
        if setup.phase != .none { try expectHandled(.spawnWorkload) }
        if setup.phase == .running || setup == .readyExited { try expectHandled(.startWorkload) }
        if setup.presence == .destroyed {
            // A workload that survives the kill (a fake that cannot be signalled) keeps its phase.
            if setup.phase == .parked || setup.phase == .running { backend.failing.insert("signal 9") }
            try expectHandled(.destroyCell)
            session.closeDestroyedCells()
        }
        if setup == .readyExited { backend.exit(id) }
        if setup.phase == .exited { #expect(waitForPhase(.exited, in: session), "\(setup): workload not reaped") }
        let state: NetnsdSession.CellState = setup.presence == .ready ? .ready : .destroyed
        #expect(session.state(of: id) == state && session.workloadPhase(of: id) == setup.phase, "\(setup) not reached")
    }

    static func documentedPermits(_ row: DocumentedRequests.Row, _ setup: Setup) -> Bool {
        guard let states = row.names("cell states") else { return true }
        guard states.contains(setup.presence.rawValue) else { return false }
        guard setup.presence != .absent, let phases = row.names("workload phases") else { return true }
        return phases.contains(setup.phase.rawValue)
    }

    @Test(arguments: Setup.allCases)
    func everyRequestInState(_ setup: Setup) throws {
        let docs = try DocumentedRequests()
        for kind in RequestKind.allCases {
            let row = try #require(docs.row(kind.rawValue))
            let backend = FakeCellBackend()
            let log = Log()
            let session = NetnsdSession(peer: Self.peer, configuration: NetnsdSession.Configuration(log: log.sink), backend: backend)
            defer {
                backend.failing = []
                backend.exit(Self.id)
                session.destroyAll()
                #expect(session.waitForReapers())
            }
            try Self.prepare(setup, session, backend)
            let calls = backend.calls.count
            let logged = log.all.count
            let message = try Self.decode(session.handle(try Self.frame(kind, requestID: 99)))
            let what = "\(kind.rawValue) in \(setup)"
            if Self.documentedPermits(row, setup) {
                #expect(Self.name(message) == row["reply"].split(separator: "`")[0].description, "\(what): \(message)")
            } else {
                guard case .error(let error) = message else {
                    Issue.record("\(what) was handled: \(message)")
                    continue
                }
                let code = setup.presence == .absent ? NetnsdSession.ErrorCode.unknownCell : NetnsdSession.ErrorCode.invalidState
                #expect(error.code == code, "\(what): \(error)")
                // Refused by the gate, not by a handler's fallback.
                #expect(!error.message.contains("request gate"), "\(what): \(error.message)")
                #expect(row["refusals (`ErrorReply.code`)"].contains("`\(code)`"), "\(what): \(code) is not documented")
                #expect(backend.calls.count == calls, "\(what) reached the backend: \(backend.calls.dropFirst(calls))")
                #expect(log.all.count == logged + 1 && log.all.last?.contains(code) == true, "\(what) not logged: \(log.all)")
                let state: NetnsdSession.CellState? = switch setup.presence {
                case .absent: nil
                case .ready: .ready
                case .destroyed: .destroyed
                }
                #expect(session.state(of: Self.id) == state, "\(what) changed the cell state")
                #expect(session.workloadPhase(of: Self.id) == (setup == .absent ? nil : setup.phase), "\(what) changed the phase")
            }
        }
    }

    /// An admin-only connection may send ReadStatus, nothing else: refused
    /// `unauthorized`, logged, no backend call.
    @Test func anAdminOnlyConnectionMaySendReadStatusOnly() throws {
        let docs = try DocumentedRequests()
        let backend = FakeCellBackend()
        let log = Log()
        let session = NetnsdSession(
            peer: Self.peer, role: .adminOnly, configuration: NetnsdSession.Configuration(log: log.sink), backend: backend)
        for kind in RequestKind.allCases {
            let message = try Self.decode(session.handle(try Self.frame(kind)))
            let row = try #require(docs.row(kind.rawValue))
            if row["admin-only connection"] == "permitted" {
                #expect(Self.name(message) == row["reply"].split(separator: "`")[0].description, "\(kind.rawValue): \(message)")
            } else {
                guard case .error(let error) = message else {
                    Issue.record("\(kind.rawValue) from an admin-only connection was handled")
                    continue
                }
                #expect(error.code == NetnsdSession.ErrorCode.unauthorized)
                #expect(log.all.last?.contains("unauthorized") == true)
            }
        }
        #expect(backend.calls.isEmpty)
    }

    /// A failing backend operation is refused `setup_failed` and changes no state:
    /// a spawn can be retried, a start that failed leaves the workload parked.
    @Test func aFailedBackendOperationChangesNoState() throws {
        let backend = FakeCellBackend()
        let session = NetnsdSession(peer: Self.peer, configuration: NetnsdSession.Configuration(log: { _ in }), backend: backend)
        defer {
            backend.failing = []
            session.destroyAll()
            #expect(session.waitForReapers())
        }
        _ = session.handle(try Self.frame(.createCell))
        backend.failing = ["spawn"]
        guard case .error(let spawnError) = try Self.decode(session.handle(try Self.frame(.spawnWorkload))) else {
            Issue.record("a failed spawn was answered")
            return
        }
        #expect(spawnError.code == NetnsdSession.ErrorCode.setupFailed)
        #expect(session.workloadPhase(of: Self.id) == Phase.none)
        backend.failing = ["start"]
        guard case .workloadSpawned = try Self.decode(session.handle(try Self.frame(.spawnWorkload))) else {
            Issue.record("the spawn could not be retried")
            return
        }
        guard case .error(let startError) = try Self.decode(session.handle(try Self.frame(.startWorkload))) else {
            Issue.record("a failed start was answered")
            return
        }
        #expect(startError.code == NetnsdSession.ErrorCode.setupFailed)
        #expect(session.workloadPhase(of: Self.id) == .parked)
        backend.failing = []
        guard case .workloadStarted = try Self.decode(session.handle(try Self.frame(.startWorkload))) else {
            Issue.record("the start could not be retried")
            return
        }
        #expect(session.workloadPhase(of: Self.id) == .running)
    }

    /// A reaped workload's exit reaches the sink and ends the cell's flow log.
    @Test func theReaperRecordsTheExitAndEndsTheFlowLog() throws {
        let backend = FakeCellBackend()
        let exits = WorkloadProbe.Exits()
        let session = NetnsdSession(
            peer: Self.peer, configuration: NetnsdSession.Configuration(exitSink: exits.sink, log: { _ in }), backend: backend)
        defer {
            session.destroyAll()
            #expect(session.waitForReapers())
        }
        _ = session.handle(try Self.frame(.createCell))
        _ = session.handle(try Self.frame(.spawnWorkload))
        _ = session.handle(try Self.frame(.startWorkload))
        backend.exit(Self.id, code: 3)
        let exit = try #require(exits.wait(for: Self.id))
        #expect(exit.exitCode == 3 && exit.signal == nil)
        #expect(Self.waitForPhase(.exited, in: session))
        #expect(backend.calls.suffix(2) == ["clearAfterReap", "endFlowLog"])
    }

    /// The once column on its own: the phases make a second SpawnWorkload or
    /// StartWorkload impossible anyway, so a slot that was marked handled while
    /// still in the permitted phase shows the gate checks the flag too.
    @Test func aOnceRequestIsRefusedASecondTimeEvenInAPermittedPhase() throws {
        let backend = FakeCellBackend()
        let session = NetnsdSession(peer: Self.peer, configuration: NetnsdSession.Configuration(log: { _ in }), backend: backend)
        let slot = CellSlot(cell: FakeCell(id: Self.id, backend: backend))
        let spawn = NetnsdRequest.spawnWorkload(try SpawnWorkload(cellID: Self.id, path: "/bin/true", arguments: ["true"]))
        let rule = RequestTable.rule(for: .spawnWorkload)
        #expect(session.gate(rule, spawn, slot: slot) == nil)
        slot.markHandled(.spawnWorkload)
        #expect(session.gate(rule, spawn, slot: slot)?.code == NetnsdSession.ErrorCode.invalidState)
        #expect(session.gate(RequestTable.rule(for: .readCounters), .readCounters(ReadCounters(cellID: Self.id)), slot: slot) == nil)
    }
}

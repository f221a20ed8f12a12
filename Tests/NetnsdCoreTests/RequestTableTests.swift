import Foundation
import IPCWire
@testable import NetnsdCore
import Testing

/// `RequestTable` against the table in docs/netnsd.md: same requests in the same
/// order, and per request the same states, phases, once flag, descriptors,
/// admin-only permission and reply. They cannot drift apart.
@Suite struct RequestTableTests {
    static func documented(_ states: Set<CellPresence>?) -> String {
        guard let states else { return "—" }
        return CellPresence.allCases.filter(states.contains).map { "`\($0.rawValue)`" }.joined(separator: ", ")
    }

    static func documented(_ phases: Set<NetnsdSession.WorkloadPhase>?) -> String {
        guard let phases else { return "any" }
        return NetnsdSession.WorkloadPhase.allCases.filter(phases.contains).map { "`\($0.rawValue)`" }.joined(separator: ", ")
    }

    /// `cellCreated` → `CellCreated`.
    static func name(_ type: MessageType) -> String {
        let text = String(describing: type)
        return text.prefix(1).uppercased() + text.dropFirst()
    }

    @Test func theTableIsTheDocumentedTable() throws {
        let docs = try DocumentedRequests()
        #expect(docs.rows.map(\.request) == RequestTable.rules.map(\.kind.rawValue))
        #expect(RequestTable.rules.map(\.kind) == RequestKind.allCases)
        for rule in RequestTable.rules {
            let row = try #require(docs.row(rule.kind.rawValue), "docs/netnsd.md has no row for \(rule.kind.rawValue)")
            let name = rule.kind.rawValue
            #expect(row["cell states"] == Self.documented(rule.cellStates), "\(name): cell states")
            #expect(row["workload phases"] == Self.documented(rule.phases), "\(name): workload phases")
            #expect(row["once"] == (rule.once ? "yes" : "no"), "\(name): once")
            #expect(row["fds in"] == "`\(rule.descriptorsIn.documented)`", "\(name): fds in")
            #expect(row["fds out"] == "`\(rule.descriptorsOut.documented)`", "\(name): fds out")
            #expect(row["admin-only connection"] == (rule.adminOnly ? "permitted" : "refused"), "\(name): admin-only connection")
            #expect(row["reply"].hasPrefix("`\(Self.name(rule.reply))`"), "\(name): reply \(row["reply"])")
            // Every state the gate can refuse in is documented with its code.
            let refusals = row["refusals (`ErrorReply.code`)"]
            if rule.cellStates?.contains(.absent) == false { #expect(refusals.contains("`unknown_cell`"), "\(name): unknown_cell") }
            let refusesAnExistingCell = rule.cellStates.map { !$0.isSuperset(of: [.ready, .destroyed]) } ?? false
            if refusesAnExistingCell || rule.phases != nil { #expect(refusals.contains("`invalid_state`"), "\(name): invalid_state") }
        }
    }

    /// The descriptor counts in the table are the ones the wire decoder enforces.
    @Test func descriptorCountsAreTheMessagesOwn() throws {
        let id = try CellID("fds")
        #expect(RequestTable.rule(for: .createCell).descriptorsIn == .when(flag: "attach", count: CreateCell(cellID: id, policy: try EgressPolicy(), attach: true).descriptorCount))
        #expect(CreateCell(cellID: id, policy: try EgressPolicy()).descriptorCount == 0)
        let spawn = try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], stdio: true)
        #expect(RequestTable.rule(for: .spawnWorkload).descriptorsIn == .when(flag: "stdio", count: spawn.descriptorCount, plusOnePer: "secret_files"))
        #expect(try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"]).descriptorCount == 0)
        let secrets = try [SecretFile(name: "a", size: 1), SecretFile(name: "b", size: 1)]
        #expect(try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], stdio: true, secretFiles: secrets).descriptorCount == 3 + 2)
        #expect(try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], secretFiles: secrets).descriptorCount == 2)
        #expect(RequestTable.rule(for: .createCell).descriptorsOut == .between(CellCreated.requiredNames.count, CellCreated.requiredNames.count + 3))
        #expect(DestroyCell(cellID: id).descriptorCount == 0 && ReadCounters(cellID: id).descriptorCount == 0)
        #expect(StartWorkload(cellID: id).descriptorCount == 0 && ReadStatus().descriptorCount == 0)
        #expect(try SignalWorkload(cellID: id, signal: 15).descriptorCount == 0)
    }

    /// The transitions `CellSlot.transition` allows are exactly the documented ones.
    @Test func onlyTheDocumentedTransitionsAreLegal() {
        typealias Phase = NetnsdSession.WorkloadPhase
        let legal: Set<String> = [
            "destroy ready/none", "destroy ready/parked", "destroy ready/running", "destroy ready/exited",
            "parked ready/none", "running ready/parked",
            "exited ready/parked", "exited ready/running", "exited destroyed/parked", "exited destroyed/running",
        ]
        var found: Set<String> = []
        for state in [NetnsdSession.CellState.ready, .destroyed] {
            for phase in Phase.allCases {
                let steps: [(String, CellSlot.Step)] = [("destroy", .destroy)] + Phase.allCases.map { ($0.rawValue, .workload($0)) }
                for (name, step) in steps where CellSlot.isLegal(step, state: state, phase: phase) {
                    found.insert("\(name) \(state)/\(phase)")
                }
            }
        }
        #expect(found == legal)
    }

    /// An illegal step changes nothing: a destroyed cell is not destroyed again,
    /// a workload never goes back to none, nor starts on a destroyed cell.
    @Test func anIllegalTransitionChangesNothing() throws {
        let slot = CellSlot(cell: FakeCell(id: try CellID("steps"), backend: FakeCellBackend()))
        #expect(!slot.transition(to: .workload(.running)))
        #expect(slot.transition(to: .workload(.parked)))
        #expect(slot.transition(to: .destroy))
        #expect(!slot.transition(to: .destroy))
        #expect(!slot.transition(to: .workload(.running)))
        #expect(!slot.transition(to: .workload(.none)))
        #expect(slot.state == .destroyed && slot.phase == .parked)
        #expect(slot.transition(to: .workload(.exited)))
        #expect(slot.phase == .exited)
    }
}

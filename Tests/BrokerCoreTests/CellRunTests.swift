@testable import BrokerCore
import Foundation
import IPCWire
import Testing

/// `CellRun` against `FakeNetnsd` (no daemon, no helpers: the spec turns DNS and
/// the flow log off): the requests it sends in order, what it does when netnsd
/// refuses or is lost, and the events and exit status that follow.
@Suite(.serialized) struct CellRunTests {
    final class Trail {
        let path = NSTemporaryDirectory() + "cellrun-\(UUID().uuidString).jsonl"
        let writer: EventWriter

        init() throws { writer = try EventWriter(destination: path) }
        deinit { unlink(path) }

        /// Each event's `type` without the common prefix, and its `data`.
        func events() throws -> [(type: String, data: [String: Any])] {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return try text.split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
                let type = (object["type"] as? String ?? "").replacingOccurrences(of: "dev.cellos.events.cell.", with: "")
                return (type, object["data"] as? [String: Any] ?? [:])
            }
        }
    }

    static func spec(timeoutMilliseconds: Int64 = 30_000) -> CellSpec {
        var spec = CellSpec.defaults(id: "unit", argv: ["/bin/true"])
        spec.dns.enabled = false
        spec.flowLog = false
        spec.timeout = SpecDuration(milliseconds: timeoutMilliseconds)
        spec.grace = SpecDuration(milliseconds: 100)
        return spec
    }

    static func run(_ netnsd: FakeNetnsd, spec: CellSpec = spec()) throws -> (status: Int32, trail: Trail) {
        let trail = try Trail()
        let run = CellRun(spec: spec, configuration: CellRunConfiguration(helpersDirectory: "/nonexistent"), writer: trail.writer, channel: netnsd)
        return (run.run(), trail)
    }

    static func destroyedReason(_ trail: Trail) throws -> String? {
        try trail.events().last { $0.type == "lifecycle.v1.destroyed" }?.data["reason"] as? String
    }

    @Test func aCellRunsCreateSpawnStartCountersDestroyInOrder() throws {
        let netnsd = FakeNetnsd()
        netnsd.exitCode = 3
        let (status, trail) = try Self.run(netnsd)
        #expect(netnsd.requestTypes == ["CreateCell", "SpawnWorkload", "StartWorkload", "ReadCounters", "DestroyCell"])
        // The workload gets the broker's stdio: three descriptors with SpawnWorkload, none elsewhere.
        #expect(netnsd.requests.map(\.descriptors) == [0, 3, 0, 0, 0])
        #expect(status == 3)
        let types = try trail.events().map(\.type)
        #expect(types.first == "lifecycle.v1.started")
        #expect(types.contains("lifecycle.v1.confined") && types.contains("observability.v1.nft_counter"), "\(types)")
        #expect(types.firstIndex(of: "command.v1.completed")! < types.firstIndex(of: "lifecycle.v1.destroyed")!)
        #expect(try Self.destroyedReason(trail) == "completed")
    }

    @Test func aRefusedCreateCellEndsTheRunWithoutFurtherRequests() throws {
        let netnsd = FakeNetnsd()
        netnsd.refusals[.createCell] = ErrorReply(code: "limit_exceeded", message: "cellos-netnsd already holds 1 cells")
        let (status, trail) = try Self.run(netnsd)
        #expect(netnsd.requestTypes == ["CreateCell"])
        #expect(status == BrokerExitCode.setupFailure)
        #expect(try Self.destroyedReason(trail) == "setup_failure")
        let detail = try trail.events().last { $0.type == "lifecycle.v1.destroyed" }?.data["detail"] as? String
        #expect(detail?.contains("limit_exceeded") == true, "\(detail ?? "")")
    }

    /// A refused SpawnWorkload still destroys the cell it created.
    @Test func aRefusedSpawnStillDestroysTheCell() throws {
        let netnsd = FakeNetnsd()
        netnsd.refusals[.spawnWorkload] = ErrorReply(code: "setup_failed", message: "cell unit: spawning the workload failed")
        let (status, trail) = try Self.run(netnsd)
        #expect(netnsd.requestTypes == ["CreateCell", "SpawnWorkload", "ReadCounters", "DestroyCell"])
        #expect(status == BrokerExitCode.setupFailure)
        #expect(try Self.destroyedReason(trail) == "setup_failure")
    }

    /// At the timeout the workload gets SIGTERM, then SIGKILL after the grace.
    @Test func theTimeoutSignalsTheWorkload() throws {
        let netnsd = FakeNetnsd()
        netnsd.exitCode = nil
        let (status, trail) = try Self.run(netnsd, spec: Self.spec(timeoutMilliseconds: 100))
        #expect(netnsd.requestTypes == ["CreateCell", "SpawnWorkload", "StartWorkload", "SignalWorkload", "ReadCounters", "DestroyCell"])
        guard case .signalWorkload(let signal) = netnsd.requests[3].message else { return }
        #expect(signal.signal == SIGTERM)
        #expect(try Self.destroyedReason(trail) == "timeout")
        #expect(status != 0)
    }

    /// netnsd lost mid-run: no request after the broken one, `netnsd_lost`.
    @Test func aLostNetnsdEndsTheRunAndNothingMoreIsSent() throws {
        let netnsd = FakeNetnsd()
        netnsd.lostOn = .startWorkload
        let (status, trail) = try Self.run(netnsd)
        #expect(netnsd.requestTypes == ["CreateCell", "SpawnWorkload", "StartWorkload"])
        #expect(status == BrokerExitCode.setupFailure)
        #expect(try Self.destroyedReason(trail) == "netnsd_lost")
    }
}

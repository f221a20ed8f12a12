import Foundation
import IPCWire
@testable import NetnsdCore

/// A `CellBackend` without a kernel: cells are /dev/null descriptors, workloads
/// end when signalled (or on `exit`). Every call is recorded, so a test can see
/// that a refused request reached no backend operation.
final class FakeCellBackend: CellBackend, @unchecked Sendable {
    // @unchecked: `calls` and `workloads` are guarded by `lock`.
    private let lock = NSLock()
    private var recorded: [String] = []
    private var workloads: [CellID: FakeWorkload] = [:]
    /// Operations that fail with `setup_failed` (by name, e.g. "spawn").
    var failing: Set<String> = []

    var calls: [String] { lock.withLock { recorded } }

    func record(_ call: String) -> Bool {
        lock.withLock {
            recorded.append(call)
            return failing.contains(call)
        }
    }

    func createCell(_ request: CreateCell, attached: consuming OwnedFD?) throws(RefusedRequest) -> any BackendCell {
        if record("create") { throw RefusedRequest("fake create failed", code: NetnsdSession.ErrorCode.setupFailed) }
        return FakeCell(id: request.cellID, backend: self)
    }

    func register(_ workload: FakeWorkload, for id: CellID) { lock.withLock { workloads[id] = workload } }

    /// The workload of cell `id` ends by itself with `code`.
    func exit(_ id: CellID, code: Int32 = 0) { lock.withLock { workloads[id] }?.end(WorkloadOutcome(exitCode: code)) }
}

final class FakeCell: BackendCell {
    let id: CellID
    private let backend: FakeCellBackend

    init(id: CellID, backend: FakeCellBackend) {
        self.id = id
        self.backend = backend
    }

    var uplinkInterface: String? { nil }
    var pinPath: String? { nil }

    func replyDescriptors() throws(RefusedRequest) -> CellDescriptors {
        if backend.record("replyDescriptors") { throw RefusedRequest("fake dup failed", code: NetnsdSession.ErrorCode.setupFailed) }
        var descriptors = DescriptorSet()
        for _ in CellCreated.requiredNames { descriptors.append(OwnedFD(adopting: open("/dev/null", O_RDONLY | O_CLOEXEC))) }
        return CellDescriptors(descriptors: descriptors, names: CellCreated.requiredNames)
    }

    func readCounters() throws(RefusedRequest) -> [CountersReport.Entry] {
        if backend.record("readCounters") { throw RefusedRequest("fake counters failed", code: NetnsdSession.ErrorCode.setupFailed) }
        return [CountersReport.Entry(label: "default", packets: 1, bytes: 60)]
    }

    func spawnWorkload(_ plan: WorkloadPlan) throws(RefusedRequest) -> SpawnedWorkload {
        if backend.record("spawn") { throw RefusedRequest("fake spawn failed", code: NetnsdSession.ErrorCode.setupFailed) }
        let workload = FakeWorkload(backend: backend)
        backend.register(workload, for: id)
        // Nothing is confined here: every layer says so.
        let layers = ConfinementLayer.names.map { ConfinementLayer(name: $0, applied: false, detail: "fake backend") }
        return SpawnedWorkload(workload: workload, layers: layers, enforcement: [])
    }

    func tearDown() throws {
        if backend.record("tearDown") { throw RefusedRequest("fake teardown failed", code: NetnsdSession.ErrorCode.setupFailed) }
    }

    func endFlowLog() throws { _ = backend.record("endFlowLog") }
}

final class FakeWorkload: BackendWorkload, @unchecked Sendable {
    // @unchecked: `outcome` is guarded by `condition`.
    let pid: Int32 = 4242
    private let backend: FakeCellBackend
    private let condition = NSCondition()
    private var outcome: WorkloadOutcome?

    init(backend: FakeCellBackend) { self.backend = backend }

    var cgroupLeaves: [String] { [] }

    func start() throws(SystemCallError) {
        if backend.record("start") { throw SystemCallError("write(start pipe)", errno: EPIPE) }
    }

    func signal(_ signal: Int32) throws(SystemCallError) {
        if backend.record("signal \(signal)") { throw SystemCallError("kill", errno: ESRCH) }
        end(WorkloadOutcome(signal: signal))
    }

    func killAll() { _ = backend.record("killAll") }

    func end(_ result: WorkloadOutcome) {
        condition.lock()
        if outcome == nil { outcome = result }
        condition.broadcast()
        condition.unlock()
    }

    func waitForExit() -> WorkloadOutcome {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        return outcome!
    }

    func clearAfterReap() -> Bool { !backend.record("clearAfterReap") }
}

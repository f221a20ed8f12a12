@testable import BrokerCore
import Glibc
import IPCWire
import Testing

@Suite struct CellEventsTests {
    let events = CellEvents(stamper: EventStamper(cellID: "c9", host: "h"))

    @Test func startedCarriesThePolicySummary() throws {
        var spec = DemoSpec.spec()
        spec.id = "c9"
        let data = try #require(events.started(spec).data.objectValue)
        #expect(data["cell_id"] == .string("c9"))
        #expect(data["egress"] == .array([.string("tcp:192.0.2.80:8080")]))
        #expect(data["dns_allow"] == .array([.string("allowed.cellos.test")]))
        #expect(data["timeout_ms"] == .integer(10_000))
        #expect(data["limits"]?.serialized() == #"{"cpu_percent":50,"memory_bytes":67108864,"open_files":256,"pids":32}"#)
        // The demo's ids are netnsd's to allocate; the confinement asked for is recorded.
        #expect(data["uid"] == .null && data["gid"] == .null)
        #expect(data["pid_namespace"] == .bool(true) && data["workspace"] == .string("/workspace") && data["mounts"] == .array([]))
        spec.pidNamespace = false
        spec.uid = 70000
        spec.gid = 70001
        spec.mounts = [SpecMount(source: "/srv", target: "/data", writable: true)]
        let optedOut = try #require(events.started(spec).data.objectValue)
        #expect(optedOut["pid_namespace"] == .bool(false) && optedOut["uid"] == .integer(70000) && optedOut["gid"] == .integer(70001))
        #expect(optedOut["mounts"] == .array([.string("/srv:/data:rw")]))
    }

    @Test(arguments: [
        (CellEvents.Outcome.exited(3), 3, #"{"duration_ms":12,"exit_status":3,"timed_out":false}"#),
        (.signaled(SIGSEGV), 139, #"{"duration_ms":12,"signal":11,"timed_out":false}"#),
        (.timedOut(signal: SIGKILL), BrokerExitCode.timeout, #"{"duration_ms":12,"signal":9,"timed_out":true}"#),
    ] as [(CellEvents.Outcome, Int32, String)])
    func completionDataAndBrokerExitStatus(outcome: CellEvents.Outcome, status: Int32, data: String) {
        #expect(outcome.brokerExitStatus == status)
        let event = events.commandCompleted(outcome, durationMilliseconds: 12)
        #expect(event.type == CellEventType.commandCompleted.rawValue)
        #expect(event.data.serialized() == data)
    }

    @Test func helperFailureNamesTheHelperAsSource() {
        let event = events.helperFailed(helper: "cellos-dnsproxy", reason: "died mid-run", exit: HelperExit(termination: .signaled(SIGKILL), signalSent: nil))
        #expect(event.source == "urn:cellos:h:cellos-dnsproxy")
        #expect(event.data.serialized() == #"{"helper":"cellos-dnsproxy","reason":"died mid-run","signal":9}"#)
    }

    /// limits_not_enforced names each unenforced limit with its spec field, the
    /// spec's value and netnsd's reason; enforced ones are left out.
    @Test func limitsNotEnforcedNamesEachLimitAndReason() {
        let event = events.limitsNotEnforced(
            [.init(.memory, .cgroupV1), .init(.cpu, .notEnforced(reason: "no --cgroup-root"))], limits: DemoSpec.spec().limits)
        #expect(event.type == CellEventType.limitsNotEnforced.rawValue)
        #expect(event.type == "dev.cellos.events.cell.lifecycle.v1.limits_not_enforced")
        #expect(event.data.serialized() == #"{"limits":[{"field":"limits.cpu_percent","limit":"cpu","reason":"no --cgroup-root","value":50}]}"#)
    }

    /// netnsd's report, layer by layer in its order, with the ids it used; a layer the
    /// kernel lacks is listed under `not_applied` too.
    @Test func confinedRecordsWhatNetnsdApplied() throws {
        let layers = ConfinementLayer.names.map { ConfinementLayer(name: $0, applied: $0 != "landlock", detail: $0 == "landlock" ? "not supported by this kernel" : "ok") }
        let spawned = WorkloadSpawned(cellID: try CellID("c9"), pid: 4321, uid: 2_415_919_105, gid: 2_415_919_105, confinement: layers)
        let event = events.confined(spawned, spec: DemoSpec.spec())
        #expect(event.type == "dev.cellos.events.cell.lifecycle.v1.confined")
        let data = try #require(event.data.objectValue)
        #expect(data["pid"] == .integer(4321) && data["uid"] == .integer(2_415_919_105) && data["ids"] == .string("allocated"))
        #expect(data["not_applied"] == .array([.string("landlock")]))
        #expect(data["layers"]?.serialized().hasPrefix(#"[{"applied":true,"detail":"ok","name":"identity"},{"applied":true,"detail":"ok","name":"pid_namespace"}"#) == true)
        #expect(data["layers"]?.serialized().contains(#"{"applied":false,"detail":"not supported by this kernel","name":"landlock"}"#) == true)
        var explicit = DemoSpec.spec()
        explicit.uid = 70000
        explicit.gid = 70000
        #expect(events.confined(spawned, spec: explicit).data.objectValue?["ids"] == .string("explicit"))
    }

    @Test func counterAndDestroyedData() {
        #expect(events.nftCounter(rule: "r1", verdict: "accept", packets: 4, bytes: 240).data.serialized() == #"{"bytes":240,"packets":4,"rule":"r1","verdict":"accept"}"#)
        #expect(events.destroyed(reason: "timeout").data.serialized() == #"{"reason":"timeout"}"#)
        #expect(events.destroyed(reason: "netnsd_lost", detail: "gone", workload: (pid: 42, fate: "running")).data.serialized()
            == #"{"detail":"gone","reason":"netnsd_lost","workload":"running","workload_pid":42}"#)
    }
}

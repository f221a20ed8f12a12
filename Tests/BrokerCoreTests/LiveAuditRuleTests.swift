@testable import BrokerCore
import Glibc
import HelperRuntime
import IPCWire
import Testing

/// The live audit's rule for the broker, helpers and workloads, on statuses made by hand.
@Suite struct LiveAuditRuleTests {
    static func status(bounding: UInt64 = 0, noNewPrivileges: Bool = true, seccomp: Int? = 2, uid: UInt32 = 65534) -> ProcessStatus {
        ProcessStatus(
            name: "p", inheritable: 0, permitted: 0, effective: 0, bounding: bounding, ambient: 0, noNewPrivileges: noNewPrivileges,
            seccompMode: seccomp, uids: [uid, uid, uid, uid], gids: [uid, uid, uid, uid])
    }

    static func confined(_ status: ProcessStatus, expectedUID: UInt32? = nil) -> CapabilityAudit {
        var audit = CapabilityAudit(helper: "workload", declared: DeclaredCapabilities(mask: 0), pid: 1, status: status)
        audit.requiresConfinement = true
        audit.expectedUID = expectedUID
        return audit
    }

    @Test func aConfinedProcessPassesOnlyWithEverySetEmptyNoNewPrivsAndAFilter() {
        #expect(!Self.confined(Self.status()).failed)
        // The bounding set counts even with no_new_privs (unlike --pid mode).
        let bounded = Self.confined(Self.status(bounding: 1 << 13))
        #expect(bounded.excess == [.init(set: "bounding", capabilities: ["CAP_NET_RAW"])] && bounded.failed)
        #expect(Self.confined(Self.status(noNewPrivileges: false)).violations == ["no_new_privs is off"])
        #expect(Self.confined(Self.status(seccomp: 0)).violations.first?.hasPrefix("seccomp is disabled") == true)
        // The broker is held to the same rule: it loads the baseline denylist.
        #expect(LiveAudit.brokerItself(pid: 1, cell: "c").requiresConfinement)
    }

    @Test func aWorkloadMustRunAsItsCellsUID() {
        #expect(!Self.confined(Self.status(uid: 70000), expectedUID: 70000).failed)
        #expect(Self.confined(Self.status(uid: 70001), expectedUID: 70000).violations == ["runs as uid 70001 70001 70001 70001, not its cell's uid 70000"])
    }

    /// A layer the cell reported not applied fails its workload's root, named.
    @Test func layersNotAppliedAreFindings() throws {
        var layers = ConfinementLayer.names.map { ConfinementLayer(name: $0, applied: true, detail: "x") }
        layers[5] = ConfinementLayer(name: "landlock", applied: false, detail: "no Landlock ABI")
        let cell = CellStatus(
            cellID: try CellID("c"), ageMilliseconds: 0, ownerPID: 1, ownerUID: 0, ownerGID: 0, workloadPID: getpid(), phase: .running,
            workloadUID: 0, workloadGID: 0, confinement: layers)
        var notes: [String] = []
        let audits = LiveAudit.workload(of: cell, notes: &notes)
        #expect(audits.first?.findings == ["its cell reported landlock not applied (no Landlock ABI)"])
        #expect(audits.first?.failed == true && notes.isEmpty)
        var parked = cell
        parked.phase = .parked
        #expect(LiveAudit.workload(of: parked, notes: &notes).isEmpty && notes.count == 1)
    }
}

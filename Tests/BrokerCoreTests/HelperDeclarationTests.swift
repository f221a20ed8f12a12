@testable import BrokerCore
import CellosTestLab
import Testing

/// The audit's declaration parser against what the real helper executables print
/// for `--print-capabilities` (not a hand-written sample).
@Suite struct HelperDeclarationTests {
    @Test(arguments: ["cellos-dnsproxy", "cellos-flowlog"])
    func capabilityFreeHelpersDeclareNothingAndTheAuditAcceptsIt(helper: String) throws {
        let declared = AuditRunner.declared(executable: try BuiltProducts.path(of: helper))
        #expect(declared.note == nil, "\(declared.note ?? "")")
        #expect(declared.mask == 0)
    }

    @Test func netnsdDeclaresItsSetAndTheAuditAcceptsIt() throws {
        let declared = AuditRunner.declared(executable: try BuiltProducts.path(of: "cellos-netnsd"))
        #expect(declared.note == nil, "\(declared.note ?? "")")
        // CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_SYS_ADMIN.
        #expect(CapabilityNames.names(in: declared.mask) == [
            "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_SYS_ADMIN",
        ])
    }
}

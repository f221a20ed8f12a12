import HelperRuntime

/// What `cellos-netnsd --print-capabilities` prints: the declared grants in the
/// suite's declaration format (HelperRuntime's `CapabilityDeclaration`).
public enum CapabilityReport {
    public static func json(_ grants: [CapabilityGrant] = DeclaredCapabilities.grants) -> String {
        CapabilityDeclaration.json(grants.map {
            CapabilityDeclaration.Entry(name: $0.capability.name, number: $0.capability.number, operation: $0.operation)
        })
    }
}

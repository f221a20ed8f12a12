import IPCWire

/// What `WorkloadSpawned.confinement` says about a parked workload: one entry per
/// layer of `ConfinementLayer.names`, in that order.
enum ConfinementReport {
    static func layers(for request: SpawnWorkload, identity: WorkloadIdentity) -> [ConfinementLayer] {
        [
            ConfinementLayer(name: "identity", applied: true, detail: identity.detail),
            ConfinementLayer(name: "pid_namespace", applied: request.pidNamespace, detail: request.pidNamespace ? "pid 1 of its own" : "opted out"),
            ConfinementLayer(name: "filesystem_view", applied: false, detail: "not implemented by this daemon yet"),
            ConfinementLayer(name: "capabilities", applied: true, detail: "effective and permitted sets empty"),
            ConfinementLayer(name: "seccomp", applied: true, detail: request.seccompProfile.name),
            ConfinementLayer(name: "landlock", applied: false, detail: "not implemented by this daemon yet"),
            ConfinementLayer(name: "new_session", applied: false, detail: "not implemented by this daemon yet"),
        ]
    }
}

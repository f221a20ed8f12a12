import IPCWire

/// What `WorkloadSpawned.confinement` says about a parked workload: one entry per
/// layer of `ConfinementLayer.names`, in that order, each as the child applied it
/// (the child fails, and nothing is reported, if a layer it attempts fails).
enum ConfinementReport {
    static func layers(for request: SpawnWorkload, identity: WorkloadIdentity, confinement: ChildConfinement) -> [ConfinementLayer] {
        let view = confinement.view.map { view in
            "tmpfs root, \(view.readOnlyBinds) read-only system binds, \(request.mounts.count) mounts"
        }
        return [
            ConfinementLayer(name: "identity", applied: true, detail: identity.detail),
            ConfinementLayer(
                name: "pid_namespace", applied: request.pidNamespace,
                detail: request.pidNamespace ? "pid 1 of its own, with its own /proc" : "opted out"),
            ConfinementLayer(name: "filesystem_view", applied: view != nil, detail: view ?? "opted out (the host's tree, private mounts)"),
            ConfinementLayer(name: "capabilities", applied: true, detail: "all five sets empty (bounding up to cap \(ChildConfinement.lastCapability))"),
            ConfinementLayer(name: "seccomp", applied: true, detail: "\(request.seccompProfile.name) profile"),
            ConfinementLayer(name: "landlock", applied: confinement.landlock.abi > 0, detail: confinement.landlock.detail),
            ConfinementLayer(name: "new_session", applied: true, detail: "setsid: its own session, no controlling terminal"),
        ]
    }

    /// The layers the request explicitly turned off (logged by the daemon).
    static func optedOut(_ request: SpawnWorkload) -> [String] {
        (request.pidNamespace ? [] : ["PID namespace"]) + (request.filesystemView ? [] : ["filesystem view"])
    }
}

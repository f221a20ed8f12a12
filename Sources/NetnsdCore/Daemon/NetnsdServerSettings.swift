import IPCWire

/// What a `NetnsdServer` serves every connection with: the daemon's flags, as one
/// value (a new daemon-wide setting is a field here, not a parameter of every
/// initialiser).
public struct NetnsdServerSettings: Sendable {
    /// `--allow-uid`/`--allow-gid`.
    public var peerPolicy: PeerPolicy
    /// `--admin-uid`/`--admin-gid`: admitted too; their status covers every connection.
    public var adminPolicy = AdminPolicy()
    /// `--max-connections`, `--max-cells-per-connection`, `--max-cells`.
    public var limits: NetnsdLimits = .defaults
    /// Whether SpawnWorkload may ask for uid or gid 0 (`--allow-root-workloads`).
    public var allowRootWorkloads = false
    /// Workload uid/gid pairs (`--workload-ids`); nil: the default range.
    public var identities: WorkloadIdentities?
    /// Pin every created cell's netns at /run/netns/cellos-<id> (`--pin`).
    public var pinNamespaces = false
    /// Where pins are recorded for the restart sweep (`StateDirectory.pinLedger`).
    public var pinLedger: String?
    /// The NFLOG hook handed to every session (FlowlogCore's opener); nil = no nflog fd.
    public var flowLogSocket: FlowLogSocketOpener?
    /// Uplinks for cells whose policy allows egress (`--uplink-pool`); nil = none.
    public var uplink: UplinkSettings?
    /// Where workload cgroup leaves are made (`--cgroup-root`); nil = none.
    public var cgroups: CgroupSettings?

    public init(peerPolicy: PeerPolicy) { self.peerPolicy = peerPolicy }
}

import IPCWire

extension NetnsdSession {
    /// A connection's limits and daemon-wide books, the same for every session of
    /// a server except `exitSink`.
    struct Configuration: Sendable {
        /// Live cells one connection may hold (`--max-cells-per-connection`).
        var maxCells = NetnsdSession.defaultMaxCells
        /// The daemon-wide live-cell count (`--max-cells`); nil: no daemon-wide cap.
        var budget: CellBudget?
        /// The daemon-wide book of workload uid/gid pairs (shared by all sessions).
        var identities = WorkloadIdentities(range: .default, scan: ProcessIdentityScan.scan)
        /// uid/gid 0 for workloads only when the daemon was started with
        /// `--allow-root-workloads`; even then the workload gets no capability.
        var allowRootWorkloads = false
        /// Every connection's sessions, for an admin's ReadStatus; nil: own cells only.
        var registry: SessionRegistry?
        var exitSink: ExitSink?
        /// Where refused requests are logged (netnsd's log; tests collect them).
        var log: @Sendable (String) -> Void = { NetnsdLog.write($0, priority: .warning) }
    }
}

/// The CloudEvents `type` values the broker emits (docs/broker.md lists each with
/// its `data`). Versioned like the seed system's names: a breaking change to a
/// type's data gets a new `v2` type, never a silent change.
public enum CellEventType: String, Sendable, CaseIterable {
    case started = "dev.cellos.events.cell.lifecycle.v1.started"
    /// What netnsd applied to the parked workload: ids and confinement layers.
    case confined = "dev.cellos.events.cell.lifecycle.v1.confined"
    /// What the broker, its helpers and the parked workload hold as the workload is released.
    case auditReport = "dev.cellos.events.cell.audit.v1.report"
    case destroyed = "dev.cellos.events.cell.lifecycle.v1.destroyed"
    case commandCompleted = "dev.cellos.events.cell.command.v1.completed"
    case dnsQuery = "dev.cellos.events.cell.observability.v1.dns_query"
    case networkFlowDecision = "dev.cellos.events.cell.observability.v1.network_flow_decision"
    /// cellos-flowlog's per-flow summary at exit.
    case networkFlowSummary = "dev.cellos.events.cell.observability.v1.network_flow_summary"
    /// cellos-egressproxy's verdict on one connection by server name.
    case l7EgressDecision = "dev.cellos.events.cell.observability.v1.l7_egress_decision"
    case nftCounter = "dev.cellos.events.cell.observability.v1.nft_counter"
    /// Some of the spec's cgroup limits are not applied (netnsd said why); the workload runs anyway.
    case limitsNotEnforced = "dev.cellos.events.cell.lifecycle.v1.limits_not_enforced"
    /// A helper died, failed to start or broke its protocol; the cell is torn down.
    case helperFailed = "dev.cellos.events.cell.helper.v1.failed"
    /// A helper's final counters.
    case helperStats = "dev.cellos.events.cell.helper.v1.stats"
    /// A remote sink's spool reached its bound: events were not kept for that sink.
    case spoolOverflow = "dev.cellos.events.cell.sink.v1.spool_overflow"
    /// A helper line the broker could not classify or parse (kept, never dropped).
    case helperUnrecognizedOutput = "dev.cellos.events.cell.helper.v1.unrecognized_output"
}

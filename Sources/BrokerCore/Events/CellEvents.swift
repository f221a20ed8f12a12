import IPCWire

/// The events the broker itself emits about a cell (docs/broker.md lists each
/// type's data). Helper lines take `HelperEventWrapper` instead.
public struct CellEvents: Sendable {
    public let stamper: EventStamper

    public init(stamper: EventStamper) { self.stamper = stamper }

    /// lifecycle.v1.started: what is about to run, under which policy, as asked
    /// for (`confined` follows with what netnsd applied).
    public func started(_ spec: CellSpec) -> CloudEvent {
        stamper.event(.started, data: .object([
            "cell_id": .string(spec.id),
            "argv": .array(spec.argv.map(JSONValue.string)),
            // null: netnsd allocates them (`confined` has the ids used).
            "uid": spec.uid.map { JSONValue.integer($0) } ?? .null,
            "gid": spec.gid.map { JSONValue.integer($0) } ?? .null,
            "pid_namespace": .bool(spec.pidNamespace),
            "workspace": spec.workspace.map(JSONValue.string) ?? .null,
            "mounts": .array(spec.mounts.map { .string($0.description) }),
            "timeout_ms": .integer(spec.timeout.milliseconds),
            "dns_allow": .array(spec.dns.allow.map { .string($0.description) }),
            "egress": .array(spec.egress.map { .string($0.description) }),
            "flow_log": .bool(spec.flowLog),
            "dns": .bool(spec.dns.enabled),
            // Names and delivery only: never a value, nor the source's path or variable.
            "secrets": .array(spec.secrets.map { secret in
                .object(["name": .string(secret.name), "from": .string(secret.source.kind), "as": .string(secret.delivery.rawValue), "target": .string(secret.target)])
            }),
            // Asked for here; limits_not_enforced follows for any netnsd could not apply.
            "limits": .object([
                "memory_bytes": .integer(spec.limits.memoryBytes), "pids": .integer(spec.limits.pids),
                "cpu_percent": .integer(spec.limits.cpuPercent), "open_files": .integer(spec.limits.openFiles),
            ]),
        ]))
    }

    /// lifecycle.v1.confined: what netnsd applied to the parked workload (before
    /// it runs): the ids it runs as and whether netnsd allocated them, and each
    /// confinement layer in netnsd's order with `applied` and netnsd's `detail`.
    public func confined(_ spawned: WorkloadSpawned, spec: CellSpec) -> CloudEvent {
        stamper.event(.confined, data: .object([
            "pid": .integer(spawned.pid),
            "uid": .integer(spawned.uid),
            "gid": .integer(spawned.gid),
            "ids": .string(spec.uid == nil ? "allocated" : "explicit"),
            "layers": .array(spawned.confinement.map { layer in
                .object(["name": .string(layer.name), "applied": .bool(layer.applied), "detail": .string(layer.detail)])
            }),
            "not_applied": .array(spawned.confinement.filter { !$0.applied }.map { .string($0.name) }),
        ]))
    }

    /// audit.v1.report: the start audit (`StartAudit`) in `cellos-broker audit
    /// --json`'s format, so a signed trail proves what the cell ran with.
    public func auditReport(_ audits: [CapabilityAudit]) -> CloudEvent {
        stamper.event(.auditReport, data: AuditReport.json(audits))
    }

    /// How the workload ended.
    public enum Outcome: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
        /// Stopped by the broker at its timeout; `signal` is what ended it (SIGTERM or SIGKILL).
        case timedOut(signal: Int32)

        /// The broker's exit status for this outcome.
        public var brokerExitStatus: Int32 {
            switch self {
            case .exited(let status): status
            case .signaled(let signal): 128 + signal
            case .timedOut: BrokerExitCode.timeout
            }
        }
    }

    /// command.v1.completed.
    public func commandCompleted(_ outcome: Outcome, durationMilliseconds: Int64) -> CloudEvent {
        var data: [String: JSONValue] = ["duration_ms": .integer(durationMilliseconds), "timed_out": .bool(false)]
        switch outcome {
        case .exited(let status): data["exit_status"] = .integer(status)
        case .signaled(let signal): data["signal"] = .integer(signal)
        case .timedOut(let signal):
            data["signal"] = .integer(signal)
            data["timed_out"] = .bool(true)
        }
        return stamper.event(.commandCompleted, data: .object(data))
    }

    /// lifecycle.v1.destroyed: `reason` is one of `completed`, `timeout`,
    /// `helper_failure`, `setup_failure`, `interrupted`, `netnsd_lost`; with a lost
    /// netnsd, `workload` is what its pidfd said then (`ended`, `running`, `unknown`).
    public func destroyed(reason: String, detail: String? = nil, workload: (pid: Int32, fate: String)? = nil) -> CloudEvent {
        var data: [String: JSONValue] = ["reason": .string(reason)]
        if let detail { data["detail"] = .string(detail) }
        if let workload {
            data["workload_pid"] = .integer(workload.pid)
            data["workload"] = .string(workload.fate)
        }
        return stamper.event(.destroyed, data: .object(data))
    }

    /// lifecycle.v1.limits_not_enforced: each spec limit netnsd could not apply,
    /// with its spec field, value and netnsd's reason.
    public func limitsNotEnforced(_ entries: [LimitEnforcement], limits: ResourceLimits) -> CloudEvent {
        let items: [JSONValue] = entries.compactMap { entry in
            guard case .notEnforced(let reason) = entry.mechanism else { return nil }
            return .object([
                "limit": .string(entry.limit.description),
                "field": .string(CellRequests.specField(of: entry.limit)),
                "value": .integer(CellRequests.specValue(of: entry.limit, in: limits)),
                "reason": .string(reason),
            ])
        }
        return stamper.event(.limitsNotEnforced, data: .object(["limits": .array(items)]))
    }

    /// observability.v1.nft_counter: one per rule of the cell's ruleset.
    public func nftCounter(rule: String, verdict: String, packets: UInt64, bytes: UInt64) -> CloudEvent {
        stamper.event(.nftCounter, data: .object([
            "rule": .string(rule), "verdict": .string(verdict), "packets": .integer(packets), "bytes": .integer(bytes),
        ]))
    }

    /// helper.v1.failed: a helper that could not start, was not ready in time or died.
    public func helperFailed(helper: String, reason: String, exit: HelperExit?) -> CloudEvent {
        var data: [String: JSONValue] = ["helper": .string(helper), "reason": .string(reason)]
        switch exit?.termination {
        case .exited(let status)?: data["exit_status"] = .integer(status)
        case .signaled(let signal)?: data["signal"] = .integer(signal)
        case nil: break
        }
        return stamper.event(.helperFailed, from: helper, data: .object(data))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// Where the broker finds what it needs to run a cell.
public struct CellRunConfiguration: Sendable {
    /// Directory holding cellos-dnsproxy and cellos-flowlog (default: `HelperDirectory.locate()`).
    public var helpersDirectory: String
    public var readinessTimeoutMilliseconds: Int
    /// How long a helper gets after SIGTERM at the end of the cell.
    public var helperGraceMilliseconds: Int
    /// How often the run loop looks at the helpers and the clock.
    public var tickMilliseconds: Int32
    /// The broker's descriptor the workload gets as its standard output: 1, or 2
    /// while the event stream is the broker's standard output (`--events -`), so
    /// the workload can never write into the trail (docs/events.md).
    public var workloadStdout: Int32 = 1
    /// The CloudEvent `source` prefix (`EventSource`); nil: `urn:cellos:<host>:`.
    public var eventSourceBase: String?
    /// `run --trace`: the step marks, begun when the command started; written at the end.
    public var trace: CellTrace?

    public init(
        helpersDirectory: String = HelperDirectory.locate(), readinessTimeoutMilliseconds: Int = 5000,
        helperGraceMilliseconds: Int = 2000, tickMilliseconds: Int32 = 20
    ) {
        self.helpersDirectory = helpersDirectory
        self.readinessTimeoutMilliseconds = readinessTimeoutMilliseconds
        self.helperGraceMilliseconds = helperGraceMilliseconds
        self.tickMilliseconds = tickMilliseconds
    }
}

/// One cell, end to end (docs/design.md §2): CreateCell → helpers started on the
/// cell's sockets → SpawnWorkload (parked, with the broker's stdio) → helpers
/// ready → StartWorkload → timeout enforcement → WorkloadExited → helpers told
/// to stop → ReadCounters → DestroyCell → helpers' last lines collected. Every step's
/// outcome is an event; `run()` returns the broker's exit status.
public final class CellRun {
    /// Why the cell ended early; names the `destroyed` reason and the exit status.
    enum Abort: Error {
        case setup(String)
        case helper(String)
        case netnsdLost(String)
        case interrupted(Int32)

        var reason: String {
            switch self {
            case .setup: "setup_failure"
            case .helper: "helper_failure"
            case .netnsdLost: "netnsd_lost"
            case .interrupted: "interrupted"
            }
        }

        var detail: String {
            switch self {
            case .setup(let text), .helper(let text), .netnsdLost(let text): text
            case .interrupted(let signal): "the broker received signal \(signal)"
            }
        }

        var status: Int32 {
            switch self {
            case .setup, .netnsdLost: BrokerExitCode.setupFailure
            case .helper: BrokerExitCode.helperFailure
            case .interrupted(let signal): 128 + signal
            }
        }
    }

    let spec: CellSpec
    let configuration: CellRunConfiguration
    let writer: EventWriter
    let stamper: EventStamper
    let events: CellEvents
    /// netnsd, one request at a time (the control socket; a fake in unit tests).
    let client: any NetnsdChannel
    var cellID: CellID?
    var pumps: [HelperEventPump] = []
    /// The pump whose helper already ended (its lines were forwarded then).
    var failedHelper: String?
    var workloadRunning = false
    var netnsdAlive = true
    /// The spawned workload's pidfd; what it says when netnsd is lost goes into `destroyed`.
    var workload: WorkloadWatch?
    /// netnsd's reply to SpawnWorkload (pid, ids, layers), for the start audit.
    var parkedWorkload: WorkloadSpawned?
    var workloadFateAtLoss: WorkloadWatch.Fate?
    /// The cell's sockets between CreateCell and the helpers' start.
    var dnsSockets = DescriptorSet()
    var flowLogSocket = DescriptorSet()
    var egressSocket = DescriptorSet()
    /// Read before the privilege drop; released (and zeroed) once SpawnWorkload is sent.
    var secrets: [SecretValue]
    var trace: CellTrace?

    public convenience init(
        spec: CellSpec, configuration: CellRunConfiguration, writer: EventWriter, client: consuming NetnsdClient, secrets: [SecretValue] = []
    ) {
        self.init(spec: spec, configuration: configuration, writer: writer, channel: SocketNetnsdChannel(client), secrets: secrets)
    }

    init(spec: CellSpec, configuration: CellRunConfiguration, writer: EventWriter, channel: any NetnsdChannel, secrets: [SecretValue] = []) {
        self.spec = spec
        self.secrets = secrets
        self.configuration = configuration
        trace = configuration.trace
        self.writer = writer
        self.client = channel
        stamper = EventStamper(cellID: spec.id, sourceBase: configuration.eventSourceBase)
        events = CellEvents(stamper: stamper)
        writer.attach(stamper: stamper)
    }

    /// Runs the cell and tears it down whatever happened; the broker's exit status.
    /// Remote sinks get at most `writer.timing.finishMilliseconds` after the last
    /// event to acknowledge; what they have not by then waits in their spool.
    public func run() -> Int32 {
        let status = runCell()
        writer.finish()
        return status
    }

    func runCell() -> Int32 {
        emit(events.started(spec))
        if !spec.pidNamespace {
            report("warning: cell \(spec.id) shares the host's PID namespace (pid_namespace false): its workload sees and can signal the host's processes of its uid")
        }
        let started = Monotonic.milliseconds()
        var outcome: CellEvents.Outcome?
        var abort: Abort?
        do {
            trace?.mark("run")
            try createCell()
            trace?.mark("cell_created")
            // The helpers start while netnsd prepares the parked workload; the
            // workload still runs only after both reported ready (awaitHelpers).
            try launchHelpers()
            trace?.mark("helpers_launched")
            try spawnWorkload()
            trace?.mark("workload_spawned")
            try awaitHelpers()
            trace?.mark("helpers_ready")
            auditAtStart()
            trace?.mark("start_audited")
            try startWorkload()
            trace?.mark("workload_started")
            outcome = try supervise(startedAt: Monotonic.milliseconds())
            trace?.mark("workload_exited")
        } catch let error as Abort {
            abort = error
        } catch {
            abort = .setup("\(error)")
        }
        // A run that ended before SpawnWorkload still drops (and zeroes) the values.
        secrets = []
        if workloadRunning, netnsdAlive, let cellID {
            // Aborted while the workload runs: it must not outlive its policy.
            _ = try? client.request(try SignalWorkload(cellID: cellID, signal: SIGKILL))
            if let exited = try? client.nextExit() { outcome = Self.outcome(exited, timedOut: false) }
            workloadRunning = false
        }
        if let outcome {
            emit(events.commandCompleted(outcome, durationMilliseconds: Monotonic.milliseconds() - started))
        }
        teardown()
        trace?.mark("destroyed_event")
        trace?.write()
        if let abort {
            report("cell \(spec.id): \(abort.detail)")
            emit(events.destroyed(reason: abort.reason, detail: abort.detail, workload: workload.flatMap { watch in workloadFateAtLoss.map { (watch.pid, $0.name) } }))
            return abort.status
        }
        let final = outcome ?? .exited(BrokerExitCode.setupFailure)
        if case .timedOut = final {
            emit(events.destroyed(reason: "timeout"))
        } else {
            emit(events.destroyed(reason: "completed"))
        }
        return final.brokerExitStatus
    }

    // MARK: Steps

    func createCell() throws(Abort) {
        let request: CreateCell
        do { request = try CellRequests.createCell(spec) } catch { throw .setup("\(error)") }
        var reply = try netnsd { client throws(WireError) in try client.request(request) }
        guard case .cellCreated(let created) = reply.message else { throw .setup("CreateCell: \(Self.describe(reply.message))") }
        cellID = request.cellID
        // netns, dns-udp, dns-tcp[, nflog][, l7-tcp[, l7-tcp6]]: the helpers get theirs; the rest closes with the reply.
        dnsSockets.append(reply.descriptors.take(1))
        dnsSockets.append(reply.descriptors.take(2))
        if let index = created.names.firstIndex(of: "nflog") { flowLogSocket.append(reply.descriptors.take(index)) }
        if let index = created.names.firstIndex(of: "l7-tcp") { egressSocket.append(reply.descriptors.take(index)) }
        if let index = created.names.firstIndex(of: "l7-tcp6") { egressSocket.append(reply.descriptors.take(index)) }
    }

    func launchHelpers() throws(Abort) {
        if spec.dns.enabled {
            var arguments = ["--events", HelperLaunch.eventsPlaceholder, "--stats-in-events", "--cell-id", spec.id]
            if let upstream = spec.dns.upstream { arguments += ["--upstream", upstream.description] }
            for name in spec.dns.allow { arguments += ["--allow", name.description] }
            for type in spec.dns.queryTypes { arguments += ["--allow-qtype", type] }
            try startHelper("cellos-dnsproxy", arguments: arguments, names: ["dns-udp", "dns-tcp"], descriptors: dnsSockets)
        }
        if spec.flowLog {
            guard flowLogSocket.count == 1 else { throw .setup("netnsd sent no nflog socket, and the spec asks for a flow log") }
            try startHelper("cellos-flowlog", arguments: ["--events", HelperLaunch.eventsPlaceholder, "--cell-id", spec.id], names: ["nflog"], descriptors: flowLogSocket)
        }
        if let l7 = spec.l7 {
            guard (1...2).contains(egressSocket.count) else { throw .setup("netnsd sent no l7-tcp listener, and the spec has egress_names") }
            var arguments = ["--events", HelperLaunch.eventsPlaceholder, "--stats-in-events", "--cell-id", spec.id]
            if let upstream = spec.dns.upstream { arguments += ["--upstream", upstream.description] }
            for name in l7.names { arguments += ["--allow", name.description] }
            for port in l7.ports { arguments += ["--port", String(port)] }
            try startHelper("cellos-egressproxy", arguments: arguments, names: Array(["l7-tcp", "l7-tcp6"].prefix(egressSocket.count)), descriptors: egressSocket)
        }
        // The helpers hold their copies; ours are closed now.
        dnsSockets = DescriptorSet()
        flowLogSocket = DescriptorSet()
        egressSocket = DescriptorSet()
    }

    func startHelper(_ name: String, arguments: [String], names: [String], descriptors: borrowing DescriptorSet) throws(Abort) {
        let launch = HelperLaunch(
            executable: "\(configuration.helpersDirectory)/\(name)", arguments: arguments, descriptorNames: names,
            readinessTimeoutMilliseconds: configuration.readinessTimeoutMilliseconds)
        do {
            let supervisor = try HelperSupervisor(starting: launch, descriptors: descriptors)
            pumps.append(HelperEventPump(supervisor: supervisor, stamper: stamper, writer: writer))
        } catch {
            throw helperFailed(name, error)
        }
    }

    /// Every helper's `READY=1`; the first that fails ends the cell.
    func awaitHelpers() throws(Abort) {
        for pump in pumps {
            do { try pump.supervisor.waitUntilReady() } catch {
                failedHelper = pump.supervisor.name
                throw helperFailed(pump.supervisor.name, error)
            }
        }
    }

    func helperFailed(_ name: String, _ error: HelperError) -> Abort {
        var exit: HelperExit?
        if case .notReady(_, _, let ended) = error { exit = ended }
        emit(events.helperFailed(helper: name, reason: "\(error)", exit: exit))
        return .helper("\(error)")
    }

    func spawnWorkload() throws(Abort) {
        guard let cellID else { throw .setup("no cell") }
        // Whatever happens next, the values are not needed again.
        defer { secrets = [] }
        let request: SpawnWorkload
        do { request = try CellRequests.spawnWorkload(spec, secrets: secrets) } catch { throw .setup("\(error)") }
        var descriptors = DescriptorSet()
        for fd: Int32 in [0, configuration.workloadStdout, 2] {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            guard copy >= 0 else { throw .setup("the broker's descriptor \(fd) is not open: \(SystemCallError("fcntl(F_DUPFD_CLOEXEC)"))") }
            descriptors.append(OwnedFD(adopting: copy))
        }
        // The file secrets' memfds after stdio, in `request.secretFiles` order.
        for value in secrets where value.secret.delivery == .file {
            do { descriptors.append(try value.sealedMemfd()) } catch { throw .setup("\(error)") }
        }
        let spawned: NetnsdReply
        do { spawned = try client.request(request, descriptors: descriptors) } catch { throw lost(error) }
        guard case .workloadSpawned(let parked) = spawned.message else { throw .setup("SpawnWorkload: \(Self.describe(spawned.message))") }
        // Parked counts: an abort from here on kills it and waits for its exit.
        workloadRunning = true
        workload = WorkloadWatch(pid: parked.pid)
        do {
            try WorkloadIDCheck.checkGranted(uid: parked.uid, gid: parked.gid, spec: spec, broker: PrivilegeDrop.Identity(uid: getuid(), gid: getgid()))
        } catch {
            throw .setup("\(error)")
        }
        parkedWorkload = parked
        emit(events.confined(parked, spec: spec))
        let skipped = parked.confinement.filter { !$0.applied && !($0.name == "pid_namespace" && !spec.pidNamespace) }
        if !skipped.isEmpty {
            report("warning: cell \(spec.id) runs without " + skipped.map { "\($0.name) (\($0.detail))" }.joined(separator: ", "))
        }
        let missing = parked.notEnforced
        if !missing.isEmpty {
            let named = missing.map { "\(CellRequests.specField(of: $0.limit)) (\($0.summary))" }
            report("warning: cell \(spec.id) runs without " + named.joined(separator: ", "))
            emit(events.limitsNotEnforced(missing, limits: spec.limits))
        }
    }

    /// The start audit into the trail; a process that fails it is named in a warning
    /// (the report is evidence: the cell still runs).
    func auditAtStart() {
        guard let parked = parkedWorkload else { return }
        let audits = StartAudit.run(
            cell: spec.id, helpers: pumps.map { (name: $0.supervisor.name, pid: $0.supervisor.pid) }, workload: parked)
        emit(events.auditReport(audits))
        let failed = audits.filter(\.failed)
        if !failed.isEmpty {
            report("warning: cell \(spec.id) start audit failed for " + failed.map { "\($0.helper) (pid \($0.pid ?? 0))" }.joined(separator: ", "))
        }
    }

    func startWorkload() throws(Abort) {
        guard let cellID else { throw .setup("no cell") }
        let startedReply = try netnsd { client throws(WireError) in try client.request(StartWorkload(cellID: cellID)) }
        guard case .workloadStarted = startedReply.message else { throw .setup("StartWorkload: \(Self.describe(startedReply.message))") }
    }

    /// Until the workload exits: helper lines forwarded, helpers watched, the
    /// timeout enforced (SIGTERM, then SIGKILL after the grace), signals to the broker honoured.
    func supervise(startedAt: Int64) throws(Abort) -> CellEvents.Outcome {
        guard let cellID else { throw .setup("no cell") }
        let deadline = startedAt + spec.timeout.milliseconds
        var terminatedAt: Int64?
        var killed = false
        while true {
            if let signal = BrokerSignals.pending { throw .interrupted(signal) }
            if client.awaitEvent(timeoutMilliseconds: configuration.tickMilliseconds) {
                let exited = try netnsd { client throws(WireError) in try client.nextExit() }
                workloadRunning = false
                return Self.outcome(exited, timedOut: terminatedAt != nil)
            }
            for pump in pumps where failedHelper == nil {
                do {
                    if let exit = try pump.pump(timeoutMilliseconds: 0) {
                        failedHelper = pump.supervisor.name
                        throw Abort.helper("\(pump.supervisor.name) \(exit) while the cell was running")
                    }
                } catch let error as Abort {
                    throw error
                } catch {
                    throw .setup("writing events: \(error)")
                }
            }
            let now = Monotonic.milliseconds()
            if terminatedAt == nil, now >= deadline {
                terminatedAt = now
                report("cell \(spec.id): timeout \(spec.timeout) reached, sending SIGTERM")
                try signalWorkload(cellID, SIGTERM)
            } else if let terminatedAt, !killed, now >= terminatedAt + spec.grace.milliseconds {
                killed = true
                try signalWorkload(cellID, SIGKILL)
            }
        }
    }

    func signalWorkload(_ cellID: CellID, _ signal: Int32) throws(Abort) {
        // Refused only when the workload already exited: its WorkloadExited follows.
        _ = try netnsd { client throws(WireError) in try client.request(try SignalWorkload(cellID: cellID, signal: signal)) }
    }

    /// Counters, DestroyCell, helpers' last lines: whatever of it still applies.
    func teardown() {
        // SIGTERM to every helper first: they wind down together, while the
        // counters are read and the cell destroyed. (Unless netnsd ended its log,
        // the flow log keeps reading for the kernel's NFLOG flush timeout after
        // SIGTERM; it holds its own copy of the NFLOG socket, which keeps the
        // socket and the cell's netns alive, so DestroyCell need not wait for it.)
        let stopping = pumps.filter { $0.supervisor.name != failedHelper }
        for pump in stopping { pump.supervisor.requestStop() }
        if netnsdAlive, let cellID {
            if case .countersReport(let report)? = try? client.request(ReadCounters(cellID: cellID)).message {
                for entry in report.entries {
                    emit(events.nftCounter(rule: entry.label, verdict: CellRequests.verdict(ofRule: entry.label), packets: entry.packets, bytes: entry.bytes))
                }
            }
            trace?.mark("counters_read")
            if case .cellDestroyed? = try? client.request(DestroyCell(cellID: cellID)).message {} else {
                report("cell \(spec.id): DestroyCell was not confirmed")
            }
            trace?.mark("cell_destroyed")
        }
        for pump in stopping {
            do { _ = try pump.finish(graceMilliseconds: configuration.helperGraceMilliseconds) } catch {
                report("forwarding \(pump.supervisor.name)'s last events: \(error)")
            }
        }
        pumps = []
        trace?.mark("helpers_exited")
    }

    // MARK: Helpers

    /// One exchange with netnsd; a broken connection is `netnsd_lost`.
    func netnsd<R: ~Copyable>(_ body: (any NetnsdChannel) throws(WireError) -> R) throws(Abort) -> R {
        do {
            return try body(client)
        } catch {
            throw lost(error)
        }
    }

    func lost(_ error: WireError) -> Abort {
        if case .invalidField = error { return .setup("netnsd: \(error)") }
        netnsdAlive = false
        workloadRunning = false
        // netnsd's end should take the workload with it; wait a moment, then say what happened.
        workloadFateAtLoss = workload?.fate(waitingMilliseconds: 1000)
        return .netnsdLost("the connection to cellos-netnsd failed: \(error); \(WorkloadWatch.sentence(pid: workload?.pid, fate: workloadFateAtLoss))")
    }

    static func outcome(_ exited: WorkloadExited, timedOut: Bool) -> CellEvents.Outcome {
        if timedOut { return .timedOut(signal: exited.signal ?? SIGTERM) }
        if let signal = exited.signal { return .signaled(signal) }
        return .exited(exited.exitCode ?? 0)
    }

    static func describe(_ message: NetnsdFrame.Message) -> String {
        if case .error(let error) = message { return "\(error.code): \(error.message)" }
        return "unexpected reply \(message)"
    }

    func emit(_ event: CloudEvent) {
        do { try writer.write(event) } catch { report("writing an event: \(error)") }
    }

    func report(_ line: String) {
        LogWriter.write(line, priority: line.hasPrefix("warning: ") ? .warning : .error, program: BrokerRole.executableName)
    }
}

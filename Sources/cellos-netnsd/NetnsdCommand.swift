import ArgumentParser
import CellosOptions
import FlowlogCore
import HelperRuntime
import IPCWire
import NetnsdCore

/// `cellos-netnsd ctl ...` is the debugging client; everything else is the daemon.
/// Dispatched by hand so the daemon's and the client's `--socket` never collide.
@main
enum Main {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "ctl" {
            Ctl.main(Array(arguments.dropFirst()))
        } else {
            NetnsdCommand.main(NetnsdSettings.apply(to: arguments))
        }
    }
}

struct NetnsdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: NetnsdRole.executableName,
        abstract: "The privileged cellos helper: creates cell network namespaces and hands their sockets out.",
        discussion: """
            cellos-netnsd is the only privileged process of the suite. At startup it reduces its capabilities to the declared set (see --print-capabilities) in the effective, permitted, inheritable, ambient and bounding sets, binds its control socket (AF_UNIX SOCK_SEQPACKET, IPCWire framing) and reports readiness (READY=1 on the pipe named by CELLOS_NOTIFY_FD, when set). Every connecting peer is checked by SO_PEERCRED against --allow-uid/--allow-gid before a request is read. A connection's cells are destroyed when it closes; SIGTERM or SIGINT destroys all cells and exits.

            The control socket is either bound at --socket PATH or inherited through socket activation (LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES with the name "control").

            Requests served: CreateCell (new or attached netns; lo up; nftables policy; DNS UDP+TCP listeners on the resolver address; an NFLOG socket bound to the cell's group; with --uplink-pool, a veth uplink with NAT for cells whose policy allows egress, IPv6 too with --uplink-pool6; replies with the netns, dns-udp, dns-tcp and nflog descriptors), SpawnWorkload (parked before execve in the cell netns, as a uid/gid pair of its own from --workload-ids (or explicit non-root ids), pid 1 of its own PID namespace, in a new root with read-only system directories and private /tmp, /run and /dev, every capability set empty, no_new_privs, Landlock, baseline seccomp filter, with --cgroup-root in its cgroup leaves with the requested memory/pids/cpu limits, its file secrets (sealed memfds, checked) written to /run/secrets/NAME (0400, the workload's); the reply says which confinement layers applied and how each limit was applied or why not), StartWorkload, SignalWorkload, ReadCounters, DestroyCell and ReadStatus (the connection's own cells; every connection's for an --admin-uid/--admin-gid peer); WorkloadExited is sent when a workload is reaped.

            `cellos-netnsd ctl --help` describes the debugging client.
            """,
        version: CellosVersion.string)

    @Flag(help: "Print the declared capability set as JSON (name, number and operation of each capability, and the mask as in /proc/<pid>/status CapEff) and exit.")
    var printCapabilities = false

    @Option(help: "Path of the control socket to create (mode 0660; a stale socket file is replaced). Not needed when the socket is socket-activated (named \"control\").")
    var socket: String?

    @Option(name: .customLong("allow-uid"), help: "A user (name or uid) whose processes may connect (repeatable). No peer is admitted by default, root included.", transform: AccountNames.uid)
    var allowUIDs: [UInt32] = []

    @Option(name: .customLong("allow-gid"), help: "A group (name or gid) whose processes may connect (repeatable); a peer's primary gid is checked (SO_PEERCRED).", transform: AccountNames.gid)
    var allowGIDs: [UInt32] = []

    @Option(name: .customLong("admin-uid"), help: "A user (name or uid) whose status request (ReadStatus, `ctl status`, `cellos-broker audit`) lists the cells of every connection, not just its own (repeatable). An admin is admitted even when no --allow-uid/--allow-gid names it; such an admin-only connection may send ReadStatus only (anything else is refused as unauthorized).", transform: AccountNames.uid)
    var adminUIDs: [UInt32] = []

    @Option(name: .customLong("admin-gid"), help: "A group (name or gid) whose members (primary gid, SO_PEERCRED) are admins as with --admin-uid (repeatable).", transform: AccountNames.gid)
    var adminGIDs: [UInt32] = []

    @Flag(help: "Bind-mount each created cell's network namespace at /run/netns/cellos-<id> so an operator can `ip netns exec cellos-<id> …` into it; removed when the cell is destroyed. Cell ids are per connection, so with --pin a second connection's cell of the same id fails to create.")
    var pin = false

    @Option(help: "IPv4 pool (e.g. 10.200.0.0/16) from which each cell whose policy allows egress gets a /30 veth uplink with NAT in the uplink namespace. Without it, no cell gets an uplink.")
    var uplinkPool: String?

    @Option(help: "IPv6 pool (/64 to /126, e.g. fd00:ce11::/64) from which each uplink also gets a /126 (::1 uplink side, ::2 in the cell), an IPv6 default route in the cell and IPv6 masquerade; sets net.ipv6.conf.all.forwarding=1 in the uplink namespace. Needs --uplink-pool. Without it, uplinks carry IPv4 only and CreateCell refuses allow rules to IPv6 destinations.")
    var uplinkPool6: String?

    @Option(help: "Network namespace file (e.g. /run/netns/NAME) in which uplinks and their NAT are made (default: the daemon's own, the host's).")
    var uplinkNetns: String?

    @Option(help: "An existing directory in a cgroup v2 hierarchy (e.g. /sys/fs/cgroup/cellos, mode 0755 owned by root) under which each workload gets its own leaf; the workload joins it while parked and cgroup.kill ends everything in it when the workload exits or its cell is destroyed. SpawnWorkload's memory/pids/cpu limits go into that leaf (memory.max, pids.max, cpu.max) for each controller the directory's cgroup.controllers offers (the daemon enables it in its cgroup.subtree_control); a controller it does not offer (a hybrid host binds them to cgroup v1) is used from its cgroup v1 hierarchy instead, in a leaf beneath the daemon's own cgroup there (<mount>/<own cgroup>/cellos/cell-<id>-<pid>: memory.limit_in_bytes, pids.max, cpu.cfs_quota_us), so a workload never escapes the daemon's own limits; a controller found in neither is logged as a warning at startup and a limit for it is reported as not enforced. Without this option, workloads get no cgroup and no memory/pids/cpu limit. 'delegated' (systemd's Delegate=yes): the daemon moves itself into the leaf 'netnsd' of its own cgroup v2 directory and uses that directory.")
    var cgroupRoot: String?

    @Flag(help: "Allow SpawnWorkload requests for uid or gid 0. Without it they are refused (invalid_request). Even a root workload gets no capability (its effective, permitted, inheritable and ambient sets are emptied and no_new_privs is set) and the usual seccomp filter.")
    var allowRootWorkloads = false

    @Option(help: "The ids (FIRST-LAST) from which each workload that SpawnWorkload sends without uid/gid gets a uid and gid of its own (one number for both), unused by any other live cell, freed when its workload is reaped. Default \(WorkloadIDRange.default): 65536 ids above 2^31, clear of nobody (65534) and systemd's DynamicUser, container and foreign ranges. The daemon refuses to start if the range holds a uid of /etc/passwd or a gid of /etc/group. Explicit uid/gid are refused inside this range, equal to the client's own uid/gid, or equal to another live cell's.")
    var workloadIds: String?

    @Option(help: "The daemon's state directory (made if missing): its lock file (a second daemon on the same directory refuses to start, naming the holder's pid) and the record of the pins it made. At startup, under that lock, the daemon removes what a predecessor on this directory left when it died (SIGKILL, a crash): its workload cgroup leaves (their processes killed), pins, uplink veths and NAT tables of --uplink-pool in --uplink-netns, and a stale --socket file. One state directory per daemon; give each daemon its own --cgroup-root and uplink pool.")
    var stateDir: String = StateDirectory.defaultPath

    // Resource limits (issue 11): each one reached refuses with limit_exceeded naming the flag.
    @Option(help: "Client connections served at once (1-4096). Beyond it a new connection gets one ErrorReply (limit_exceeded, naming this flag) and is closed.")
    var maxConnections = NetnsdLimits.defaults.maxConnections

    @Option(help: "Live cells one connection may hold (1-65536, at most --max-cells). Beyond it CreateCell is refused (limit_exceeded).")
    var maxCellsPerConnection = NetnsdLimits.defaults.maxCellsPerConnection

    @Option(help: "Live cells across all connections (1-65536). Beyond it CreateCell is refused (limit_exceeded). CreateCell is also refused while fewer than 16 descriptors are left below RLIMIT_NOFILE.")
    var maxCells = NetnsdLimits.defaults.maxCells

    var limits: NetnsdLimits {
        NetnsdLimits(maxConnections: maxConnections, maxCellsPerConnection: maxCellsPerConnection, maxCells: maxCells)
    }

    @Flag(help: "Stay in the foreground and log to standard error (the daemon never forks; this is the default and the flag exists for clarity).")
    var foreground = false

    @OptionGroup var logging: LogOptions

    func validate() throws {
        if !printCapabilities && socket == nil && ProcessEnvironment.current()["LISTEN_FDS"] == nil {
            throw ValidationError("--socket PATH is required to run the daemon (or a socket-activated \"\(NetnsdRole.controlSocketName)\" socket)")
        }
        if uplinkNetns != nil && uplinkPool == nil { throw ValidationError("--uplink-netns needs --uplink-pool") }
        if uplinkPool6 != nil && uplinkPool == nil { throw ValidationError("--uplink-pool6 needs --uplink-pool") }
        if let problem = limits.problem { throw ValidationError(problem) }
        if !printCapabilities && allowUIDs.isEmpty && allowGIDs.isEmpty {
            throw ValidationError("name at least one client with --allow-uid or --allow-gid")
        }
    }

    func run() throws {
        logging.apply()
        if printCapabilities {
            print(CapabilityReport.json())
            return
        }
        // Before any thread exists: the signal mask and the capability sets are per
        // thread, and threads created later inherit both.
        TerminationSignals.block()
        let notifier = try DaemonReadiness.fromProcess()
        let server: NetnsdServer
        // Held (and so locked) until the process ends.
        let state: StateDirectory
        do {
            // First: everything below sweeps what a predecessor left, which is only
            // safe while no other daemon of this directory is alive.
            state = try StateDirectory.acquire(stateDir)
            // Before the capability drop: it may make a directory in a read-only v1
            // hierarchy root (CgroupControllers.prepareV1Parent).
            let idRange = try workloadIds.map { text throws(WorkloadIDError) in try WorkloadIDRange(parsing: text) } ?? .default
            try idRange.checkUnusedOnThisHost()
            let cgroups = try cgroupRoot.map { root throws(SystemCallError) in try CgroupSettings.prepare(root: DelegatedCgroup.resolve(root)) }
            // After the leaf sweep: what it killed is gone, or held back by this scan.
            let identities = WorkloadIdentities(range: idRange, scan: ProcessIdentityScan.scan)
            for warning in idRange.systemdOverlaps { NetnsdLog.write("warning: \(warning)") }
            if !identities.heldBackIDs.isEmpty {
                NetnsdLog.write("restart sweep: \(identities.heldBackIDs.count) workload ids of \(WorkloadIDRange.flag) \(idRange) held back: processes still use them")
            }
            try CapabilityDrop.restrict(to: DeclaredCapabilities.capabilities)
            let peers = PeerPolicy(allowedUIDs: Set(allowUIDs), allowedGIDs: Set(allowGIDs))
            let admins = AdminPolicy(uids: Set(adminUIDs), gids: Set(adminGIDs))
            if let cgroups {
                for line in cgroups.controllers.logLines { NetnsdLog.write(line) }
                if let line = cgroups.staleLeafSummary { NetnsdLog.write("restart sweep: \(line)") }
            } else {
                NetnsdLog.write("warning: no --cgroup-root: workloads run without memory, pids and cpu limits")
            }
            let uplink = try uplinkPool.map { text in
                let network6 = try uplinkPool6.map { text6 throws(PolicyError) in try IPNetwork(parsing: text6, field: "--uplink-pool6") }
                let pool = try UplinkPool(network: try IPNetwork(parsing: text, field: "--uplink-pool"), network6: network6)
                return UplinkSettings(pool: pool, namespacePath: uplinkNetns)
            }
            // After the drop (it runs threads in the uplink netns; the drop needs a
            // single thread): the kept CAP_SYS_ADMIN and CAP_NET_ADMIN suffice.
            // Uplinks before pins: a removed pin may free the last hold on a cell
            // netns, whose teardown then takes its veth pair away asynchronously.
            let swept = [uplink.flatMap(RestartSweep.uplinks), RestartSweep.pins(ledger: state.pinLedger), socket.flatMap(RestartSweep.controlSocket)]
            for line in swept.compactMap({ $0 }) { NetnsdLog.write("restart sweep: \(line)") }
            // Called on a thread inside each new cell's netns, so the socket is the cell's.
            let nflog: FlowLogSocketOpener = { group in try NflogSocket.open(group: group) }
            var settings = NetnsdServerSettings(peerPolicy: peers)
            settings.adminPolicy = admins
            settings.limits = limits
            settings.allowRootWorkloads = allowRootWorkloads
            settings.identities = identities
            settings.pinNamespaces = pin
            settings.pinLedger = state.pinLedger
            settings.flowLogSocket = nflog
            settings.uplink = uplink
            settings.cgroups = cgroups
            if let socket {
                server = try NetnsdServer.bind(path: socket, settings: settings)
            } else {
                guard var inherited = try InheritedDescriptors.fromProcess() else { throw ValidationError("no control socket") }
                server = try NetnsdServer.adopt(activated: try inherited.take(NetnsdRole.controlSocketName), settings: settings)
            }
            try server.start()
        } catch {
            notifier?.status("\(error)")
            NetnsdLog.write("\(error)", priority: .error)
            throw ExitCode.failure
        }
        let listening = "capabilities reduced to \(DeclaredCapabilities.capabilities.map(\.name).joined(separator: ",")) (mask \(CapabilityMask.hex(DeclaredCapabilities.mask))); listening on \(socket ?? "the activated control socket")"
        NetnsdLog.write(listening)
        if let notifier = consume notifier { notifier.ready(status: listening) }
        let signal = TerminationSignals.wait()
        NetnsdLog.write("signal \(signal): destroying all cells")
        server.stop()
        withExtendedLifetime(state) {}
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import IPCWire
import NetnsdCore

/// `cellos-netnsd ctl`: send one request at a time to a running daemon by hand.
struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cellos-netnsd ctl",
        abstract: "Send requests to a running cellos-netnsd (debugging).",
        discussion: """
            Cells belong to the connection that created them and are destroyed when it closes, so `create` keeps its connection open: it prints the reply (descriptor names and where to find the descriptors), waits until standard input reaches EOF (press Ctrl-D), then sends ReadCounters and DestroyCell and prints their replies.
            """,
        subcommands: [Create.self, Run.self, Destroy.self, Status.self])

    struct Connection: ParsableArguments {
        @Option(help: "Path of the daemon's control socket.")
        var socket: String
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "CreateCell, hold it until stdin EOF, then DestroyCell.")

        @OptionGroup var connection: Connection

        @Option(help: "The cell id (\(CellID.rule)).")
        var id: String

        @Option(name: .customLong("allow"), help: "An allow rule ID,PROTOCOL,DESTINATION[,PORTS], e.g. 1,tcp,10.0.0.0/8,80-90 (repeatable).")
        var allow: [String] = []

        @Option(help: "The resolver address inside the cell (loopback).")
        var resolver = "127.0.0.1:53"

        @Option(help: "The cell's NFLOG group.")
        var nflogGroup: UInt16 = 1

        @Option(help: "Attach to this existing network namespace (e.g. /run/netns/NAME) instead of creating one.")
        var attach: String?

        func run() throws {
            let rules = try allow.enumerated().map { index, spec in try AllowRule(spec: spec, field: "--allow[\(index)]") }
            let policy = try EgressPolicy(allow: rules, resolver: ResolverAddress(parsing: resolver, field: "--resolver"), nflogGroup: nflogGroup)
            var descriptors = DescriptorSet()
            if let attach { descriptors.append(try openNamespace(attach)) }
            var client = try NetnsdClient.connect(path: connection.socket)
            let reply = try client.request(CreateCell(cellID: try CellID(id), policy: policy, attach: attach != nil), descriptors: descriptors)
            emit(describe(reply))
            guard case .cellCreated = reply.message else { throw ExitCode.failure }
            while readLine() != nil {}
            emit(describe(try client.request(ReadCounters(cellID: try CellID(id)))))
            emit(describe(try client.request(DestroyCell(cellID: try CellID(id)))))
        }

        private func openNamespace(_ path: String) throws -> OwnedFD {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ValidationError("--attach \(path): \(SystemCallError("open", context: path))") }
            return OwnedFD(adopting: fd)
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "CreateCell, SpawnWorkload, StartWorkload, wait for WorkloadExited, ReadCounters, DestroyCell; exits with the workload's status.")

        @OptionGroup var connection: Connection

        @Option(help: "The cell id (\(CellID.rule)).")
        var id: String

        @Option(name: .customLong("allow"), help: "An allow rule ID,PROTOCOL,DESTINATION[,PORTS] (repeatable).")
        var allow: [String] = []

        @Option(help: "An explicit uid for the workload (with --gid; 0 only if the daemon runs with --allow-root-workloads). Default: the daemon allocates the cell's own uid/gid pair from its --workload-ids.")
        var uid: UInt32?

        @Option(help: "An explicit gid for the workload (with --uid). Default: allocated with the uid.")
        var gid: UInt32?

        @Option(help: "The workload's working directory.")
        var cwd = "/"

        @Option(name: .customLong("env"), help: "An environment entry KEY=VALUE for the workload (repeatable; nothing else is passed).")
        var environment: [String] = []

        @Option(help: "The workload's seccomp profile: baseline or strict (the baseline plus no socket families but unix/inet/inet6, no personality, userfaultfd, io_uring).")
        var seccomp = "baseline"

        @Flag(inversion: .prefixedNo, help: "Run the workload as pid 1 of a new PID namespace with its own /proc (only signals it handles, SIGKILL and SIGSTOP reach it then); --no-pid-namespace opts out.")
        var pidNamespace = true

        @Flag(inversion: .prefixedNo, help: "Give the workload a new root (read-only system directories, private /tmp, /run, minimal /dev, its own /proc) instead of the host's tree; --no-filesystem-view opts out.")
        var filesystemView = true

        @Option(name: .customLong("mount"), help: "Bind the host path SRC at DST in the workload's view, read-only, or read-write with :rw (SRC:DST[:ro|:rw], repeatable).")
        var mounts: [String] = []

        @Option(help: "The workload's cgroup memory limit in bytes (swap included; at least 1048576). Default: unlimited.")
        var memoryMax: UInt64?

        @Option(help: "The workload's cgroup pids limit (processes and threads, 1-4194304). Default: unlimited.")
        var pidsMax: UInt32?

        @Option(help: "The workload's cgroup CPU quota as percent of one CPU (1-102400). Default: unlimited.")
        var cpuPercent: UInt32?

        @Flag(help: "Print only the exit line.")
        var quiet = false

        @Argument(help: "The absolute path of the program, then its arguments (argv[0] is the path).")
        var command: [String]

        func run() throws {
            guard let path = command.first else { throw ValidationError("name the program to run") }
            guard let profile = SeccompProfile.allCases.first(where: { $0.name == seccomp }) else {
                throw ValidationError("--seccomp '\(seccomp)': expected baseline or strict")
            }
            let rules = try allow.enumerated().map { index, spec in try AllowRule(spec: spec, field: "--allow[\(index)]") }
            let cell = try CellID(id)
            // Checked before anything is created.
            let cgroupLimits = try CgroupLimits(memoryMaxBytes: memoryMax, pidsMax: pidsMax, cpuPercent: cpuPercent)
            let binds = try mounts.enumerated().map { index, spec in try Self.bindMount(spec, field: "--mount[\(index)]") }
            var client = try NetnsdClient.connect(path: connection.socket)
            func step(_ reply: borrowing NetnsdReply) throws {
                if !quiet { emit(describe(reply)) }
                if case .error = reply.message { throw ExitCode.failure }
            }
            try step(try client.request(CreateCell(cellID: cell, policy: try EgressPolicy(allow: rules))))
            try step(try client.request(try SpawnWorkload(
                cellID: cell, path: path, arguments: command, environment: environment, workingDirectory: cwd, uid: uid, gid: gid,
                seccompProfile: profile, pidNamespace: pidNamespace, filesystemView: filesystemView, mounts: binds,
                cgroupLimits: cgroupLimits)))
            try step(try client.request(StartWorkload(cellID: cell)))
            let exited = try client.nextExit()
            if !quiet { try step(try client.request(ReadCounters(cellID: cell))) }
            _ = try client.request(DestroyCell(cellID: cell))
            emit("workload exited: " + (exited.signal.map { "signal \($0)" } ?? "code \(exited.exitCode ?? -1)"))
            if let code = exited.exitCode, code != 0 { throw ExitCode(code) }
            if exited.signal != nil { throw ExitCode(128 + (exited.signal ?? 0)) }
        }

        /// `SRC:DST`, `SRC:DST:ro` or `SRC:DST:rw`.
        static func bindMount(_ spec: String, field: String) throws -> BindMount {
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard (2...3).contains(parts.count), parts.count == 2 || ["ro", "rw"].contains(parts[2]) else {
                throw ValidationError("\(field) '\(spec)': expected SRC:DST[:ro|:rw]")
            }
            return try BindMount(source: parts[0], target: parts[1], writable: parts.count == 3 && parts[2] == "rw", field: field)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ReadStatus: the cells of this connection (none: a new connection holds none) or, for an --admin-uid/--admin-gid peer, of every connection.")

        @OptionGroup var connection: Connection

        @Flag(help: "Print the report as one JSON object.")
        var json = false

        func run() throws {
            var client = try NetnsdClient.connect(path: connection.socket)
            let reply = try client.request(ReadStatus())
            guard case .statusReport(let report) = reply.message else {
                emit(describe(reply))
                throw ExitCode.failure
            }
            emit(json ? StatusRendering.json(report) : StatusRendering.table(report))
        }
    }

    struct Destroy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "DestroyCell on a new connection (refused unless that connection created the cell: shows the ownership rule).")

        @OptionGroup var connection: Connection

        @Option(help: "The cell id.")
        var id: String

        func run() throws {
            var client = try NetnsdClient.connect(path: connection.socket)
            let reply = try client.request(DestroyCell(cellID: try CellID(id)))
            emit(describe(reply))
            if case .error = reply.message { throw ExitCode.failure }
        }
    }
}

/// A readable rendering of a reply: for a created cell, each received descriptor
/// with its name and a /proc path of this process, so it can be inspected
/// (e.g. `nsenter --net=/proc/<pid>/fd/<n>`) while `create` holds the cell.
func describe(_ reply: borrowing NetnsdReply) -> String {
    switch reply.message {
    case .cellCreated(let created):
        let lines = created.names.enumerated().map { index, name in
            "  \(name): /proc/\(getpid())/fd/\(reply.descriptors.raw(index))"
        }
        return (["created cell \(created.cellID)"] + lines).joined(separator: "\n")
    case .countersReport(let report):
        let lines = report.entries.map { "  \($0.label): \($0.packets) packets, \($0.bytes) bytes" }
        return (["counters of cell \(report.cellID):"] + lines).joined(separator: "\n")
    case .cellDestroyed(let destroyed):
        return "destroyed cell \(destroyed.cellID)"
    case .error(let error):
        return "refused: \(error.code): \(error.message)"
    case .workloadSpawned(let spawned):
        let limits = spawned.enforcement.map { "\n  \($0.limit) limit: \($0.summary)" }.joined()
        let layers = spawned.confinement.map { "\n  \($0.name): \($0.applied ? "applied" : "not applied"), \($0.detail)" }.joined()
        return "workload of cell \(spawned.cellID) parked as pid \(spawned.pid) (uid \(spawned.uid) gid \(spawned.gid))" + layers + limits
    case .workloadStarted(let started):
        return "workload of cell \(started.cellID) started"
    case .workloadSignalled(let signalled):
        return "workload of cell \(signalled.cellID) signalled"
    case .workloadExited(let exited):
        return "workload of cell \(exited.cellID) exited: " + (exited.signal.map { "signal \($0)" } ?? "code \(exited.exitCode ?? -1)")
    case .statusReport(let report):
        return StatusRendering.table(report)
    case .createCell, .destroyCell, .readCounters, .spawnWorkload, .startWorkload, .signalWorkload, .readStatus:
        return "unexpected request message in a reply: \(reply.message)"
    }
}

/// Writes a line to standard output unbuffered, so a caller watching the output
/// sees the reply while `create` still holds the cell.
func emit(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

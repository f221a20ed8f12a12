import ArgumentParser
import HelperRuntime
import BrokerCore
import CellosOptions
import IPCWire

#if canImport(Glibc)
import Glibc
#endif

@main
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: BrokerRole.executableName,
        abstract: "The unprivileged cellos orchestrator: runs one cell end to end.",
        discussion: """
            cellos-broker asks cellos-netnsd for a cell, starts cellos-dnsproxy and cellos-flowlog \
            on the sockets netnsd handed over (socket activation: LISTEN_FDS, LISTEN_PID, \
            LISTEN_FDNAMES, readiness on CELLOS_NOTIFY_FD), starts the parked workload and writes \
            the cell's audit trail as CloudEvents JSON lines. Exit status: the workload's; \
            \(BrokerExitCode.timeout) timeout, \(BrokerExitCode.setupFailure) spec/policy/setup failure, \
            \(BrokerExitCode.helperFailure) helper failure. See docs/broker.md.
            """,
        version: CellosVersion.string,
        subcommands: [Run.self, Summary.self, Spec.self, Stamp.self, Keygen.self, Verify.self, Flush.self, Audit.self, SelfCheck.self]
    )

    /// Non-dumpable before the flags are even parsed (HelperRuntime.NonDumpable says why);
    /// then ArgumentParser, given /etc/cellos/broker.conf's defaults first.
    static func main() {
        NonDumpable.enterOrExit(program: BrokerRole.executableName)
        main(BrokerSettings.apply(to: Array(CommandLine.arguments.dropFirst())))
    }
}

/// Writes an outcome and exits with its status.
func finish(_ outcome: BrokerCommands.Outcome) throws -> Never {
    BrokerCommands.write(outcome)
    exit(outcome.status)
}

/// Where events go, shared by `run` and `flush` (docs/events.md, "Sinks").
struct SinkOptions: ParsableArguments {
    @Option(name: .customLong("sink"), help: ArgumentHelp("Also send events to SINK (repeatable): file:PATH, nats://HOST:PORT/SUBJECT[?credentials=FILE] (JetStream, subject SUBJECT.HOST.CELL), journald[:SOCKET].", valueName: "SINK"))
    var sinks: [String] = []

    @Option(name: .customLong("spool-dir"), help: ArgumentHelp("Where remote sinks spool what they could not confirm (default \(SinkSetup.defaultSpoolDirectory)); writable by the broker's user.", valueName: "DIR"))
    var spoolDir: String?

    @Option(name: .customLong("spool-max-bytes"), help: ArgumentHelp("Each remote sink's spool bound (default \(SinkSetup.defaultSpoolMaxBytes)); past it events are not kept and a spool_overflow event says so.", valueName: "BYTES"))
    var spoolMaxBytes: Int?

    func setup(events: String?) throws(SinkError) -> SinkSetup {
        try SinkSetup(events: events, sinks: sinks, spoolDirectory: spoolDir, spoolMaxBytes: spoolMaxBytes)
    }
}

/// The `run` flag shortcuts, shared by `run` and `spec`.
struct ShortcutOptions: ParsableArguments {
    @Option(name: .customLong("allow-name"), help: ArgumentHelp("Allow a DNS name (repeatable): 'example.com' exactly, '*.example.com' any name below it.", valueName: "NAME"))
    var allowNames: [String] = []

    @Option(name: .customLong("allow-egress"), help: ArgumentHelp("Allow egress (repeatable): PROTO:ADDR[/PREFIX][:PORT[-PORT]], e.g. tcp:10.1.2.3:443, udp:10.0.0.0/8:53, tcp:[2001:db8::1]:8000-8100, icmp:192.0.2.1.", valueName: "RULE"))
    var allowEgress: [String] = []

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Stop the workload after this long: 500ms, 30s, 2m, 1h (a bare number is seconds).", valueName: "DURATION"))
    var timeout: String?

    @Option(name: .customLong("id"), help: ArgumentHelp("Cell id (1-64 of A-Z a-z 0-9 _ -); default: from the spec, else generated.", valueName: "ID"))
    var id: String?

    @Option(name: .customLong("mount"), help: ArgumentHelp("Bind a host path into the workload's view (repeatable), read-only unless ':rw', e.g. /srv/data:/data, /srv/out:/out:rw.", valueName: "SRC:DST[:rw]"))
    var mounts: [String] = []

    @Flag(name: .customLong("no-pid-namespace"), help: "Opt out of the workload's own PID namespace (it then sees the host's processes); warned and recorded in the started event.")
    var noPIDNamespace = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The workload's command line, after '--'.", valueName: "ARGV"))
    var argv: [String] = []

    var shortcuts: RunShortcuts {
        RunShortcuts(allowNames: allowNames, allowEgress: allowEgress, timeout: timeout, id: id, mounts: mounts, noPIDNamespace: noPIDNamespace, argv: argv)
    }
}

extension BrokerCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a workload in a cell.",
            discussion: """
                The spec comes from --spec (JSON, docs/broker.md) with the shortcut flags applied on top, \
                or from the shortcuts alone; with neither, the embedded demo spec. --dry-run validates and \
                prints the resolved spec. Otherwise: connect to cellos-netnsd, drop to --user when started \
                as root, CreateCell, start cellos-dnsproxy and cellos-flowlog on the cell's sockets, run the \
                workload with this process's stdin/stdout/stderr, enforce the timeout (SIGTERM, SIGKILL \
                after the grace), read the nft counters, stop the helpers, DestroyCell. Exit status: the \
                workload's (128+N for signal N); \(BrokerExitCode.timeout) timeout; \(BrokerExitCode.helperFailure) \
                a helper failed or died; \(BrokerExitCode.setupFailure) spec/policy/setup failure or lost \
                netnsd connection; 128+N when the broker got signal N (the cell is torn down first).
                """)

        @Option(name: .customLong("spec"), help: ArgumentHelp("Cell spec file (JSON, version 1); '-' reads standard input.", valueName: "FILE"))
        var spec: String?

        @OptionGroup var options: ShortcutOptions

        @Option(name: .customLong("events"), help: ArgumentHelp("Write CloudEvents JSON lines to PATH ('-' for standard output; the workload's standard output then goes to standard error).", valueName: "PATH|-"))
        var events: String?

        @OptionGroup var sinkOptions: SinkOptions

        @Option(name: .customLong("event-source"), help: ArgumentHelp("The events' source URI prefix, the emitting program's name appended (default urn:cellos:HOST:).", valueName: "URI"))
        var eventSource: String?

        @Option(name: .customLong("sign-key"), help: ArgumentHelp("Sign every event with this Ed25519 private key (see keygen).", valueName: "FILE"))
        var signKey: String?

        @Flag(name: .customLong("dry-run"), help: "Validate the spec and flags, print the resolved spec, run nothing.")
        var dryRun = false

        @Option(name: .customLong("netnsd-socket"), help: ArgumentHelp("cellos-netnsd's control socket.", valueName: "PATH"))
        var netnsdSocket = "/run/cellos/netnsd.sock"

        @Option(name: .customLong("user"), help: ArgumentHelp("The user to become when started as root, after connecting to netnsd and opening --events: USER (with its primary group), USER:GROUP or UID:GID; not root. Default cellos-broker if that user exists, else 65534:65534.", valueName: "USER[:GROUP]"))
        var user: String?

        @OptionGroup var logging: LogOptions

        @Flag(name: .customLong("trace"), help: "Write when each step of the cell ended to standard error ('cellos-broker trace: STEP EPOCH_MICROSECONDS' lines, docs/performance.md).")
        var trace = false

        @Option(name: .customLong("helpers-dir"), help: ArgumentHelp("Directory holding cellos-dnsproxy and cellos-flowlog (default: ../libexec/cellos from the real cellos-broker file if it holds them, else beside it).", valueName: "DIR"))
        var helpersDir: String?

        func run() throws {
            var cellTrace = trace ? CellTrace() : nil
            cellTrace?.mark("parsed")
            logging.apply()
            func fail(_ text: String) throws -> Never {
                try finish(BrokerCommands.Outcome(stdout: "", stderr: "cellos-broker: \(text)\n", status: BrokerExitCode.setupFailure))
            }
            // The spec is read once (it may be standard input) and checked whole
            // before anything exists: events file, cell, helpers.
            let cellSpec: CellSpec
            let identity: PrivilegeDrop.Identity
            let sinkSetup: SinkSetup
            do {
                cellSpec = try BrokerCommands.loadSpec(path: spec, shortcuts: options.shortcuts)
                identity = try user.map { text throws in try PrivilegeDrop.Identity.parse(text) } ?? .implicitTarget
                if let eventSource { _ = try EventSource.validateBase(eventSource, field: "--event-source") }
                sinkSetup = try sinkOptions.setup(events: events)
                try WorkloadIDCheck.check(cellSpec, broker: .afterDrop(target: identity))
            } catch {
                try fail("\(error)")
            }
            var signer: EventSigner?
            if let signKey {
                do { signer = try BrokerCommands.loadSigner(path: signKey) } catch { try fail("--sign-key: \(error)") }
            }
            // As the invoking user, before anything exists and before the drop; a
            // missing source refuses the cell (--dry-run too), naming the secret.
            var secrets: [SecretValue]
            do { secrets = try SecretValue.load(cellSpec) } catch { try fail("\(error)") }
            if dryRun {
                secrets = []
                try finish(BrokerCommands.printed(cellSpec))
            }
            do {
                // Everything that may need root first: the events file, the netnsd socket.
                let writer: EventWriter
                do { writer = try sinkSetup.writer(signer: signer) } catch { try fail("\(error)") }
                let client: NetnsdClient
                do { client = try NetnsdClient.connect(path: netnsdSocket) } catch { try fail("--netnsd-socket: \(error)") }
                // Then nothing: the helpers the broker starts inherit its (lack of) privilege.
                do { _ = try PrivilegeDrop.apply(target: identity) } catch { try fail("dropping privileges: \(error)") }
                // The spools are written as the dropped user; earlier runs' events go first.
                do { try writer.checkSpools() } catch { try fail("\(error)") }
                writer.replaySpools()
                BrokerSignals.install()
                var configuration = CellRunConfiguration()
                if let helpersDir { configuration.helpersDirectory = helpersDir }
                configuration.eventSourceBase = eventSource
                if sinkSetup.writesStandardOutput { configuration.workloadStdout = 2 }
                cellTrace?.mark("connected")
                configuration.trace = cellTrace
                let run = CellRun(spec: cellSpec, configuration: configuration, writer: writer, client: client, secrets: secrets)
                secrets = []
                Glibc.exit(run.run())
            } catch {
                try fail("\(error)")
            }
        }
    }

    struct Flush: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver the events spooled for remote sinks (NATS, journald), in order.",
            discussion: """
                Takes the sinks from --sink (or CELLOS_BROKER_SINK in /etc/cellos/broker.conf) and replays \
                each one's spool under its lock, so running cells keep their order. Exit 0 when every spool \
                is empty afterwards, \(BrokerExitCode.checkFailed) naming what is left otherwise.
                """)

        @OptionGroup var sinkOptions: SinkOptions

        @Option(name: .customLong("budget"), help: ArgumentHelp("Give each sink at most this many milliseconds.", valueName: "MS"))
        var budget: Int64 = 30000

        func run() throws {
            let setup: SinkSetup
            do { setup = try sinkOptions.setup(events: nil) } catch {
                try finish(BrokerCommands.Outcome(stdout: "", stderr: "cellos-broker flush: \(error)\n", status: BrokerExitCode.setupFailure))
            }
            try finish(BrokerCommands.flush(setup: setup, budgetMilliseconds: budget))
        }
    }

    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a readable digest of a cell's event log: DNS decisions, flows, counters, outcome.")

        @Argument(help: ArgumentHelp("The events: a file written by run --events, '-' for standard input, or nats://HOST:PORT/SUBJECT (a JetStream subject, wildcards allowed).", valueName: "EVENTS"))
        var events: String

        func run() throws {
            let bytes: [UInt8]
            do { bytes = try EventInput.read(events, maxBytes: 256 << 20) } catch {
                try finish(BrokerCommands.Outcome(stdout: "", stderr: "cellos-broker: \(events): \(error)\n", status: BrokerExitCode.setupFailure))
            }
            let text = String(decoding: bytes, as: UTF8.self)
            try finish(BrokerCommands.Outcome(stdout: EventSummary.render(lines: text.split(separator: "\n")), stderr: "", status: 0))
        }
    }

    struct Spec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a cell spec and print it with every default explicit.",
            discussion: "Without FILE and without ARGV prints the embedded demo spec. Errors name the field and the bad value.")

        @Argument(help: ArgumentHelp("Spec file ('-' for standard input).", valueName: "FILE"))
        var file: String?

        @OptionGroup var options: ShortcutOptions

        func run() throws { try finish(BrokerCommands.resolveSpec(path: file, shortcuts: options.shortcuts)) }
    }

    struct Stamp: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wrap a helper's plain JSON lines into (optionally signed) CloudEvents.",
            discussion: """
                Reads cellos-dnsproxy or cellos-flowlog output lines, keeps each as the event's data, and \
                adds id, time, source (//HOST/HELPER), subject (cell:ID) and the type matching the line. \
                Lines that are not recognized become helper.v1.unrecognized_output events.
                """)

        @Option(name: .customLong("helper"), help: ArgumentHelp("The helper that wrote the lines (names the event source).", valueName: "NAME"))
        var helper: String

        @Option(name: .customLong("cell-id"), help: ArgumentHelp("The cell the lines are about.", valueName: "ID"))
        var cellID: String

        @Option(name: .customLong("sign-key"), help: ArgumentHelp("Sign every event with this Ed25519 private key.", valueName: "FILE"))
        var signKey: String?

        @Option(name: .customLong("events"), help: ArgumentHelp("Where to write the events ('-' for standard output).", valueName: "PATH|-"))
        var events = "-"

        @Argument(help: ArgumentHelp("Helper output to read ('-' for standard input).", valueName: "INPUT"))
        var input = "-"

        func run() throws {
            try finish(BrokerCommands.stamp(helper: helper, cellID: cellID, signKeyPath: signKey, inputPath: input, events: events))
        }
    }

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an Ed25519 key pair for signing events.",
            discussion: "Writes PREFIX (private, mode 0600, 'ed25519-private:<hex>') and PREFIX.pub ('ed25519-public:<hex>'); never overwrites.")

        @Option(name: .customLong("out"), help: ArgumentHelp("Path of the private key; the public key gets '.pub' appended.", valueName: "PREFIX"))
        var out: String

        func run() throws { try finish(BrokerCommands.keygen(prefix: out)) }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the signature of every event in an events file.",
            discussion: "Exit 0 when every event verifies; \(BrokerExitCode.checkFailed) naming the first failing line and event id otherwise.")

        @Option(name: .customLong("key"), help: ArgumentHelp("Public key file (from keygen, or 32 raw bytes).", valueName: "PUBFILE"))
        var key: String

        @Argument(help: ArgumentHelp("Events: a file of JSON lines, '-' for standard input, or nats://HOST:PORT/SUBJECT (a JetStream subject, wildcards allowed).", valueName: "EVENTS"))
        var events: String

        func run() throws { try finish(BrokerCommands.verify(keyPath: key, eventsPath: events)) }
    }

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the capabilities the running cellos processes hold with those they declare.",
            discussion: """
                Without --pid, --start or --declarations-only it audits what runs, as root (the broker and its \
                helpers are non-dumpable: reading their /proc/<pid>/exe needs root): it connects to \
                --netnsd-socket, takes cellos-netnsd's pid from SO_PEERCRED, asks it for its status (all cells \
                when this uid is one of netnsd's --admin-uid/--admin-gid; otherwise only this connection's, which \
                are none, and it says so) and, for every live cell, inspects its broker (the cell's owner), the \
                broker's children whose /proc/<pid>/exe is a cellos-dnsproxy or cellos-flowlog, and the \
                workload's process tree (its pid and every descendant, /proc/<pid>/task/*/children). netnsd must \
                hold no more than it declares; the broker, helpers and workload processes nothing in any set, \
                bounding and ambient included, with no_new_privs on and a seccomp filter (Seccomp: 2); a workload also \
                its cell's uid, and its cell must report pid_namespace, filesystem_view and landlock applied.

                With --pid NAME=PID: runs each helper beside cellos-broker with --print-capabilities (output \
                that is not parseable declares nothing) and reads /proc/PID/status: capability sets, \
                no_new_privs, seccomp mode, uid/gid. Exit \(BrokerExitCode.checkFailed) if any process holds \
                more than allowed, naming it, the set and the capability.
                """)

        @Flag(name: .customLong("json"), help: "Print JSON instead of the table.")
        var json = false

        @Option(name: .customLong("pid"), help: ArgumentHelp("Inspect a running helper instance (repeatable).", valueName: "NAME=PID"))
        var pids: [String] = []

        @Flag(name: .customLong("start"), help: "Start helpers that have an inspectable mode (cellos-netnsd with a private control socket), inspect them once ready, stop them.")
        var start = false

        @Option(name: .customLong("helpers-dir"), help: ArgumentHelp("Where to find the helper executables (default: as for run).", valueName: "DIR"))
        var helpersDirectory: String?

        @Option(name: .customLong("netnsd-socket"), help: ArgumentHelp("cellos-netnsd's control socket, for auditing what runs.", valueName: "PATH"))
        var netnsdSocket = "/run/cellos/netnsd.sock"

        @Flag(name: .customLong("declarations-only"), help: "Only read each helper's --print-capabilities (no running process is inspected).")
        var declarationsOnly = false

        func run() throws {
            if pids.isEmpty && !start && !declarationsOnly {
                try finish(BrokerCommands.liveAudit(socket: netnsdSocket, json: json))
            } else {
                try finish(BrokerCommands.audit(directory: helpersDirectory ?? HelperDirectory.locate(), pidArguments: pids, start: start, json: json))
            }
        }
    }

    struct SelfCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "self-check",
            abstract: "Drop privileges as 'run' does and show what the broker holds afterwards.",
            discussion: """
                Started as root: drops the bounding set, clears ambient capabilities and supplementary \
                groups, switches to --user (default cellos-broker if that user exists, else 65534:65534), sets no_new_privs, then audits itself \
                from /proc/self/status (the broker declares no capabilities). Exit \(BrokerExitCode.checkFailed) \
                if anything is left, \(BrokerExitCode.setupFailure) if the drop fails.
                """)

        @Option(name: .customLong("user"), help: ArgumentHelp("The user to become when started as root: USER, USER:GROUP or UID:GID; not root.", valueName: "USER[:GROUP]"))
        var user: String?

        @Flag(name: .customLong("json"), help: "Print JSON instead of the table.")
        var json = false

        func run() throws { try finish(BrokerCommands.selfCheck(user: user, json: json)) }
    }
}

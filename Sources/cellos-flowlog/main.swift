import ArgumentParser
import CellosOptions
import FlowlogCore
import HelperRuntime
import IPCWire

@main
struct FlowlogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: FlowlogRole.executableName,
        abstract: "The capability-free NFLOG flow listener of a cellos cell.",
        discussion: """
            Inherited mode (how the broker runs it): the NFLOG netlink socket arrives as a socket-activated \
            descriptor named 'nflog' (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES=nflog), already bound to the cell's \
            group inside the cell's network namespace. The listener needs and accepts no capabilities.

            Standalone mode (debugging): --group N binds and configures the group itself, which needs \
            CAP_NET_ADMIN; --netns PATH opens that socket inside another network namespace.

            Each logged packet whose NFLOG prefix is '<prefix> <verdict> <rule>' becomes one JSON line \
            (type flow_event); others are counted. SIGUSR1 writes one flow_summary line per unique flow and a \
            flowlog_stats line; SIGTERM and SIGINT do the same and exit 0. After setup the process drops \
            every capability, sets no_new_privs and loads a seccomp allowlist, then reports READY=1 on CELLOS_NOTIFY_FD if given. \
            Format: docs/flowlog.md.
            """,
        version: CellosVersion.string)

    /// Non-dumpable before the flags are even parsed (HelperRuntime.NonDumpable says why).
    static func main() {
        NonDumpable.enterOrExit(program: FlowlogRole.executableName)
        main(nil)
    }

    @Option(name: .long, help: ArgumentHelp("Bind NFLOG group N (0-65535) standalone instead of using an inherited socket; needs CAP_NET_ADMIN.", valueName: "N"))
    var group: UInt16?

    @Option(name: .long, help: ArgumentHelp("With --group: open the socket inside the network namespace at PATH (e.g. /run/netns/x).", valueName: "PATH"))
    var netns: String?

    @Option(name: .customLong("cell-id"), help: ArgumentHelp("Cell id written into every line.", valueName: "ID"))
    var cellID: String = ""

    @Option(name: .long, help: ArgumentHelp("NFLOG prefix that marks cellos flow logs; other prefixes are counted as unmatched.", valueName: "TEXT"))
    var prefix: String = FlowPrefixParser.defaultPrefix

    @Option(name: .long, help: ArgumentHelp("Where JSON lines go: a file (appended, created 0640) or '-' for standard output.", valueName: "PATH|-"))
    var events: String = "-"

    @Option(name: .customLong("user"), help: ArgumentHelp("With --group, started as root: the user to become once the socket and --events are open, holding no capability (USER, USER:GROUP or UID:GID; default cellos-broker if that user exists, else 65534:65534).", valueName: "USER[:GROUP]"))
    var user: String?

    @Flag(name: .customLong("allow-capabilities"), help: "Run in inherited mode even though the process holds capabilities; with --group as root, stay root (capabilities are still dropped).")
    var allowCapabilities = false

    @Flag(name: .customLong("print-capabilities"), help: "Print the capabilities this helper needs in inherited mode (none) as one JSON line, in the format cellos-broker audit reads, and exit.")
    var printCapabilities = false

    func validate() throws {
        if netns != nil && group == nil { throw ValidationError("--netns needs --group") }
        if prefix.isEmpty || prefix.contains(" ") { throw ValidationError("--prefix '\(prefix)' must be one non-empty word") }
    }

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        if printCapabilities {
            print(FlowlogRole.capabilityDeclaration)
            return
        }
        var options = FlowlogOptions(
            group: group, netnsPath: netns, cellID: cellID, prefix: prefix, eventsPath: events, allowCapabilities: allowCapabilities)
        options.user = RootStart.resolveFlag(user: user, program: FlowlogRole.executableName)
        do {
            _ = try FlowlogService.run(options)
        } catch {
            LogWriter.write("\(error)", priority: .error, program: FlowlogRole.executableName)
            throw ExitCode.failure
        }
    }
}

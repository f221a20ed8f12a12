import ArgumentParser
import CellosOptions
import DNSProxyCore
import HelperRuntime
import IPCWire

@main
struct DNSProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: DNSProxyRole.executableName,
        abstract: "The capability-free DNS policy proxy of a cellos cell.",
        discussion: """
            Serves the UDP and TCP DNS sockets it inherits (LISTEN_FDS/LISTEN_PID with \
            LISTEN_FDNAMES=dns-udp:dns-tcp) or binds --listen itself. Queries for allowed names and \
            types are forwarded to the upstream from the proxy's own network namespace under a fresh \
            random ID; other names and types get REFUSED without the upstream being asked; malformed \
            queries get no answer. One JSON line per query goes to --events. SIGUSR1 prints counters \
            as JSON on standard error (also printed at exit, or written as the last events line \
            with --stats-in-events); SIGTERM stops after writing queued \
            events. Reports readiness (READY=1) on the pipe named by CELLOS_NOTIFY_FD when set. \
            See docs/dnsproxy.md.
            """,
        version: CellosVersion.string)

    /// Non-dumpable before the flags are even parsed (HelperRuntime.NonDumpable says why).
    static func main() {
        NonDumpable.enterOrExit(program: DNSProxyRole.executableName)
        main(nil)
    }

    @Option(name: .customLong("listen"), help: ArgumentHelp("Bind UDP and TCP on this address (standalone mode), e.g. 127.0.0.1:5353 or [::1]:5353.", valueName: "ADDR:PORT"))
    var listen: String?

    @Option(name: .customLong("upstream"), help: ArgumentHelp("Upstream resolver (default: first nameserver in /etc/resolv.conf, port 53).", valueName: "ADDR:PORT"))
    var upstream: String?

    @Option(name: .customLong("allow"), help: ArgumentHelp("Allow a name (repeatable): 'example.com' exactly, '*.example.com' any name below it but not the apex. Case-insensitive; a trailing dot is ignored.", valueName: "NAME"))
    var allow: [String] = []

    @Option(name: .customLong("allow-qtype"), help: ArgumentHelp("Allow a query type (repeatable): A, AAAA, TXT, TYPE65, 65 ... (default: A, AAAA, CNAME, HTTPS).", valueName: "TYPE"))
    var allowQueryTypes: [String] = []

    @Option(name: .customLong("cell-id"), help: ArgumentHelp("Cell id written into every event.", valueName: "ID"))
    var cellID: String?

    @Option(name: .customLong("events"), help: ArgumentHelp("Append one JSON line per query to PATH ('-' for standard output).", valueName: "PATH|-"))
    var events: String?

    @Option(name: .customLong("policy"), help: ArgumentHelp("JSON policy file: allow, allow_qtypes, upstream, upstream_timeout_ms, cell_id. Flags add to its lists and override its values.", valueName: "FILE"))
    var policy: String?

    @Option(name: .customLong("upstream-timeout"), help: ArgumentHelp("Answer SERVFAIL when the upstream is silent this long: 2, 2s, 1.5s, 500ms (default 2s).", valueName: "DURATION"))
    var upstreamTimeout: String?

    @Option(name: .customLong("max-inflight"), help: ArgumentHelp("Queries waiting for the upstream at once; beyond it SERVFAIL (1-32768).", valueName: "N"))
    var maxInflight = 4096

    @Flag(name: .customLong("stats-in-events"), help: "Write the final stats line as the last line of --events instead of standard error (how cellos-broker collects it).")
    var statsInEvents = false

    @Option(name: .customLong("event-queue"), help: ArgumentHelp("Events buffered for the writer; beyond it events are dropped and counted.", valueName: "N"))
    var eventQueue = 8192

    @Option(name: .customLong("upstream-sockets"), help: ArgumentHelp("UDP sockets (random source ports) used towards the upstream (1-64).", valueName: "N"))
    var upstreamSockets = 4

    @Option(name: .customLong("tcp-max-connections"), help: ArgumentHelp("Concurrent TCP client connections; beyond it new ones are closed at once (1-4096).", valueName: "N"))
    var tcpMaxConnections = 128

    @Option(name: .customLong("tcp-idle-timeout"), help: ArgumentHelp("Close a TCP client connection idle this long with nothing in flight (default 10s).", valueName: "DURATION"))
    var tcpIdleTimeout: String?

    @Option(name: .customLong("tcp-max-inflight"), help: ArgumentHelp("Queries one TCP connection may have waiting for the upstream; beyond it SERVFAIL (1-32768, default 32).", valueName: "N"))
    var tcpMaxInflight = 32

    @Option(name: .customLong("user"), help: ArgumentHelp("With --listen, started as root: the user to become once the sockets are bound and --events is open, holding no capability (USER, USER:GROUP or UID:GID; default cellos-broker if that user exists, else 65534:65534).", valueName: "USER[:GROUP]"))
    var user: String?

    @Flag(name: .customLong("allow-capabilities"), help: "Run even if the process holds capabilities (with inherited sockets it refuses by default; with --listen as root it keeps root instead of becoming --user).")
    var allowCapabilities = false

    @Flag(name: .customLong("print-capabilities"), help: "Print the capabilities this helper needs (none) as one JSON line, in the format cellos-broker audit reads, and exit.")
    var printCapabilities = false

    @Flag(name: .customLong("no-seccomp"), help: "Debugging only: do not set no_new_privs or load the seccomp allowlist.")
    var noSeccomp = false

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        if printCapabilities {
            print(DNSProxyRole.capabilityDeclaration)
            return
        }
        var options = ProxyOptions()
        options.listen = listen
        options.upstream = upstream
        options.allow = allow
        options.allowQueryTypes = allowQueryTypes
        options.cellID = cellID
        options.events = events
        options.statsInEvents = statsInEvents
        options.policyFile = policy
        options.upstreamTimeout = upstreamTimeout
        options.maxInflight = maxInflight
        options.eventQueueCapacity = eventQueue
        options.upstreamSockets = upstreamSockets
        options.allowCapabilities = allowCapabilities
        options.user = RootStart.resolveFlag(user: user, program: DNSProxyRole.executableName)
        options.tcpMaxConnections = tcpMaxConnections
        options.tcpIdleTimeout = tcpIdleTimeout
        options.tcpMaxInflightPerConnection = tcpMaxInflight
        options.disableSyscallFilter = noSeccomp
        do {
            _ = try ProxyLauncher.run(options)
        } catch {
            LogWriter.write("\(error)", priority: .error, program: DNSProxyRole.executableName)
            throw ExitCode(2)
        }
    }
}

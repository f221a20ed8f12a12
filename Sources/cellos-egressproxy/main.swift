import ArgumentParser
import CellosOptions
import EgressProxyCore
import HelperRuntime
import IPCWire

@main
struct EgressProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: EgressProxyRole.executableName,
        abstract: "The capability-free SNI/Host egress proxy of a cellos cell.",
        discussion: """
            Serves the TCP listeners it inherits (LISTEN_FDS/LISTEN_PID with LISTEN_FDNAMES=l7-tcp, once or twice, \
            and l7-tcp6) or binds --listen itself. Each connection is redirected to it by the cell's \
            nft table (transparent: the original destination port counts) or addressed to it as \
            HTTPS_PROXY/HTTP_PROXY (explicit: CONNECT and absolute-URI requests). The name comes from \
            the TLS ClientHello's SNI or the HTTP Host/request target; an allowed name is resolved \
            through --upstream and the proxy connects to that answer, never to the address the \
            client chose. Refusals get a TLS alert or an HTTP error. One JSON line per connection \
            goes to --events; the stats are the last line with --stats-in-events. See docs/egressproxy.md.
            """,
        version: CellosVersion.string)

    /// Non-dumpable before the flags are even parsed (HelperRuntime.NonDumpable says why).
    static func main() {
        NonDumpable.enterOrExit(program: EgressProxyRole.executableName)
        main(nil)
    }

    @Option(name: .customLong("listen"), help: ArgumentHelp("Bind a TCP listener here (standalone mode, repeatable), e.g. 127.0.0.1:15001 or [::1]:15001.", valueName: "ADDR:PORT"))
    var listen: [String] = []

    @Option(name: .customLong("upstream"), help: ArgumentHelp("Resolver for allowed names (default: first nameserver in /etc/resolv.conf, port 53).", valueName: "ADDR:PORT"))
    var upstream: String?

    @Option(name: .customLong("allow"), help: ArgumentHelp("Allow a name (repeatable): 'example.com', '*.example.com' (below it, not the apex), optionally ':PORT' (else the --port list).", valueName: "NAME[:PORT]"))
    var allow: [String] = []

    @Option(name: .customLong("port"), help: ArgumentHelp("A port names without ':PORT' are allowed on (repeatable; default 443 and 80).", valueName: "PORT"))
    var ports: [String] = []

    @Option(name: .customLong("cell-id"), help: ArgumentHelp("Cell id written into every event.", valueName: "ID"))
    var cellID: String?

    @Option(name: .customLong("events"), help: ArgumentHelp("Append one JSON line per connection to PATH ('-' for standard output).", valueName: "PATH|-"))
    var events: String?

    @Flag(name: .customLong("stats-in-events"), help: "Write the final stats line as the last line of --events instead of standard error.")
    var statsInEvents = false

    @Option(name: .customLong("max-connections"), help: ArgumentHelp("Concurrent connections (one thread each); beyond it new ones are closed at once (1-4096).", valueName: "N"))
    var maxConnections = 256

    @Option(name: .customLong("handshake-timeout"), help: ArgumentHelp("Time a client has to send its ClientHello or request head (default 10s).", valueName: "DURATION"))
    var handshakeTimeout: String?

    @Option(name: .customLong("resolve-timeout"), help: ArgumentHelp("Time the resolver has to answer (default 2s).", valueName: "DURATION"))
    var resolveTimeout: String?

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Time the upstream has to accept the connection (default 5s).", valueName: "DURATION"))
    var connectTimeout: String?

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Close a relayed connection silent both ways this long (default 300s).", valueName: "DURATION"))
    var idleTimeout: String?

    @Option(name: .customLong("max-client-hello"), help: ArgumentHelp("Largest ClientHello accepted, in bytes (512-65536, default 32768).", valueName: "BYTES"))
    var maxClientHello = 32_768

    @Option(name: .customLong("max-header-bytes"), help: ArgumentHelp("Largest HTTP request head accepted, in bytes (256-65536, default 8192).", valueName: "BYTES"))
    var maxHeaderBytes = 8192

    @Flag(name: .customLong("allow-capabilities"), help: "Run even if the process holds capabilities (refused by default).")
    var allowCapabilities = false

    @Flag(name: .customLong("print-capabilities"), help: "Print the capabilities this helper needs (none) as one JSON line, in the format cellos-broker audit reads, and exit.")
    var printCapabilities = false

    @Flag(name: .customLong("no-seccomp"), help: "Debugging only: do not set no_new_privs or load the seccomp allowlist.")
    var noSeccomp = false

    @OptionGroup var logging: LogOptions

    func run() throws {
        logging.apply()
        if printCapabilities {
            print(EgressProxyRole.capabilityDeclaration)
            return
        }
        var options = EgressOptions()
        options.listen = listen
        options.upstream = upstream
        options.allow = allow
        options.ports = ports
        options.cellID = cellID
        options.events = events
        options.statsInEvents = statsInEvents
        options.maxConnections = maxConnections
        options.handshakeTimeout = handshakeTimeout
        options.resolveTimeout = resolveTimeout
        options.connectTimeout = connectTimeout
        options.idleTimeout = idleTimeout
        options.maxClientHello = maxClientHello
        options.maxHeadBytes = maxHeaderBytes
        options.allowCapabilities = allowCapabilities
        options.disableSyscallFilter = noSeccomp
        do {
            try EgressLauncher.run(options)
        } catch {
            LogWriter.write("\(error)", priority: .error, program: EgressProxyRole.executableName)
            throw ExitCode(2)
        }
    }
}

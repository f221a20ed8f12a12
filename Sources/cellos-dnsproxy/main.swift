import ArgumentParser
import DNSProxyCore
import IPCWire

@main
struct DNSProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: DNSProxyRole.executableName,
        abstract: "The capability-free DNS policy proxy of a cellos cell.",
        discussion: """
            cellos-dnsproxy serves the UDP and TCP DNS sockets it inherits (LISTEN_FDNAMES=dns-udp:dns-tcp),
            forwards allowed names and query types upstream from its own network namespace, refuses the
            rest, and writes one JSON event per query.

            This build provides the shared IPCWire layer only; the proxy itself is not implemented yet,
            so running it exits with an error.
            """,
        version: CellosVersion.string)

    func run() throws {
        throw CleanExit.message("\(DNSProxyRole.executableName) \(CellosVersion.string): the proxy is not implemented in this build")
    }
}

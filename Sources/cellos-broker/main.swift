import ArgumentParser
import BrokerCore
import IPCWire

@main
struct BrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: BrokerRole.executableName,
        abstract: "The unprivileged cellos orchestrator: runs one cell end to end.",
        discussion: """
            cellos-broker asks cellos-netnsd for a cell, starts cellos-dnsproxy and cellos-flowlog
            on the sockets netnsd handed over (socket activation: LISTEN_FDS, LISTEN_PID,
            LISTEN_FDNAMES, readiness on CELLOS_NOTIFY_FD), starts the parked workload and writes
            the cell's audit trail as CloudEvents JSON lines.
            """,
        version: CellosVersion.string,
)
}

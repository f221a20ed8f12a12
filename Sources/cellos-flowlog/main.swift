import ArgumentParser
import FlowlogCore
import IPCWire

@main
struct FlowlogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: FlowlogRole.executableName,
        abstract: "The capability-free NFLOG flow listener of a cellos cell.",
        discussion: """
            cellos-flowlog reads the NFLOG netlink socket it inherits (LISTEN_FDNAMES=nflog), decodes each
            logged packet, and writes one JSON flow event per packet plus a flow summary.

            This build provides the shared IPCWire layer only; the listener itself is not implemented yet,
            so running it exits with an error.
            """,
        version: CellosVersion.string)

    func run() throws {
        throw CleanExit.message("\(FlowlogRole.executableName) \(CellosVersion.string): the listener is not implemented in this build")
    }
}

import ArgumentParser
import IPCWire
import NetnsdCore

@main
struct NetnsdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: NetnsdRole.executableName,
        abstract: "The privileged cellos helper: creates cell network namespaces and hands their sockets out.",
        discussion: """
            cellos-netnsd is the only privileged process of the suite. For each cell it creates a
            network namespace, loads the cell's nftables policy, binds the cell's DNS and NFLOG
            sockets inside that namespace and passes them to its client over an IPCWire control
            socket (AF_UNIX SOCK_SEQPACKET, SCM_RIGHTS). It runs workloads parked until started.

            This build provides the shared IPCWire layer only; the cell requests are not served
            yet, so running it exits with an error.
            """,
        version: CellosVersion.string)

    func run() throws {
        throw CleanExit.message("\(NetnsdRole.executableName) \(CellosVersion.string): cell requests are not implemented in this build")
    }
}

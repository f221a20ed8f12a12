import ArgumentParser
import IPCWire
import NetnsdCore

@main
struct NetnsdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: NetnsdRole.executableName,
        abstract: "The privileged cellos helper: creates cell network namespaces and hands their sockets out.",
        discussion: """
            cellos-netnsd is the only privileged process of the suite. At startup it reduces its
            capabilities to the declared set (see --print-capabilities) in the effective,
            permitted, inheritable, ambient and bounding sets, then reports readiness
            (READY=1 on the pipe named by CELLOS_NOTIFY_FD, when set) and runs until SIGTERM or
            SIGINT.

            This build does not serve the IPCWire control socket yet: the cell operations
            (network namespace, lo up, nftables policy, DNS listener sockets) exist in the
            NetnsdCore library and its tests only.
            """,
        version: CellosVersion.string)

    @Flag(help: "Print the declared capability set as JSON (name, number and operation of each capability, and the mask as in /proc/<pid>/status CapEff) and exit.")
    var printCapabilities = false

    @Flag(help: "Stay in the foreground and log to standard error (the daemon never forks; this is the default and the flag exists for clarity).")
    var foreground = false

    func run() throws {
        if printCapabilities {
            print(CapabilityReport.json())
            return
        }
        TerminationSignals.block()
        let notifier = try Readiness.notifierFromProcess()
        do {
            try CapabilityDrop.restrict(to: DeclaredCapabilities.capabilities)
        } catch {
            notifier?.status("\(error)")
            throw ValidationError("\(error)")
        }
        NetnsdLog.write("capabilities reduced to \(DeclaredCapabilities.capabilities.map(\.name).joined(separator: ",")) (mask \(capabilityMaskHex(DeclaredCapabilities.mask)))")
        if let notifier = consume notifier { notifier.ready() }
        let signal = TerminationSignals.wait()
        NetnsdLog.write("signal \(signal): exiting")
    }
}

import HelperRuntime
import IPCWire

/// What `cellos-dnsproxy` does after parsing its flags: check the configuration
/// and the process's capabilities, take the inherited sockets (or bind the
/// `--listen` ones), report readiness, serve, and print the final stats.
public enum ProxyLauncher {
    public static func run(_ options: ProxyOptions) throws(ProxyStartError) -> ProxyStats {
        var notifier: ReadinessNotifier?
        do { notifier = try Readiness.notifierFromProcess() } catch { throw .activation(error) }
        do throws(ProxyStartError) {
            let configuration: ProxyConfiguration
            do { configuration = try ProxyConfiguration.resolve(options) } catch { throw ProxyStartError.configuration(error) }
            let server = try ProxyServer(configuration: configuration, listeners: try listeners(configuration))
            // Root has bound --listen (port 53 too) and opened --events: now become
            // --user with nothing left, before any thread exists (RootStart).
            if let target = RootStart.target(
                user: options.user, allowCapabilities: configuration.allowCapabilities, standalone: configuration.listen != nil) {
                do { try IdentityDrop.apply(uid: target.uid, gid: target.gid) } catch { throw ProxyStartError.privilegeDrop(error) }
            }
            do { try CapabilityRefusal.enforce(allowed: configuration.allowCapabilities) } catch { throw ProxyStartError.capabilities(error) }
            try server.start()
            // Confine only now: sockets, the events file and the writer thread exist.
            if !options.disableSyscallFilter {
                do { try SyscallFilter.install() } catch { throw ProxyStartError.syscallFilter(error) }
            }
            if let ready = notifier.take() { ready.ready() }
            let stats = try server.serve()
            if !configuration.statsInEvents { StandardError.writeLine(stats.json(cellID: configuration.cellID)) }
            return stats
        } catch {
            // The parent waiting for readiness learns why from the last STATUS line.
            if let failing = notifier.take() { failing.status("failed: \(error)") }
            throw error
        }
    }

    /// Inherited `dns-udp` (required) and `dns-tcp` (optional), or `--listen`.
    static func listeners(_ configuration: ProxyConfiguration) throws(ProxyStartError) -> ListenerSockets {
        let activation: InheritedDescriptors?
        do { activation = try InheritedDescriptors.fromProcess() } catch { throw .activation(error) }
        if var inherited = activation {
            guard configuration.listen == nil else { throw .listenAndInherited }
            do {
                let udp = try inherited.take("dns-udp")
                guard inherited.names.contains("dns-tcp") else { return ListenerSockets(udp: udp) }
                return ListenerSockets(udp: udp, tcp: try inherited.take("dns-tcp"))
            } catch {
                throw .activation(error)
            }
        }
        guard let address = configuration.listen else { throw .noSockets }
        do {
            let udp = try Sockets.boundUDP(address)
            // Port 0 picks a UDP port; TCP then uses the same number.
            let bound = try Sockets.localAddress(of: udp.rawValue)
            return ListenerSockets(udp: udp, tcp: try Sockets.listeningTCP(bound))
        } catch {
            throw .system(error)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSProxyCore
import HelperRuntime
import IPCWire

/// What `cellos-egressproxy` does after parsing its flags: check the
/// configuration, take the inherited `l7-tcp` listeners (or bind `--listen`),
/// open the events output, refuse to run with any capability, confine itself,
/// report readiness, serve, and write the final stats.
public enum EgressLauncher {
    public static func run(_ options: EgressOptions) throws(EgressStartError) {
        var notifier: ReadinessNotifier?
        do { notifier = try Readiness.notifierFromProcess() } catch { throw .activation(error) }
        do throws(EgressStartError) {
            let configuration: EgressConfiguration
            do { configuration = try EgressConfiguration.resolve(options) } catch { throw EgressStartError.configuration(error) }
            let listeners = try Self.listeners(configuration)
            var events: OwnedFD?
            if let path = configuration.eventsPath {
                do { events = try EventsOutput.open(path: path) } catch { throw EgressStartError.system(error) }
            }
            // Before any thread exists, so every connection thread inherits the mask.
            let signals: SignalWatch
            do { signals = try SignalWatch() } catch { throw EgressStartError.system(error) }
            do { try CapabilityRefusal.enforce(allowed: configuration.allowCapabilities) } catch { throw EgressStartError.capabilities(error) }
            if !configuration.disableSyscallFilter {
                do { try EgressSyscallFilter.install() } catch { throw EgressStartError.syscallFilter(error) }
            }
            let server = EgressServer(configuration: configuration, listeners: listeners, events: events, signals: signals)
            if let ready = notifier.take() { ready.ready() }
            server.serve()
            if configuration.statsInEvents { server.writeFinalStatsToEvents() } else { StandardError.writeLine(server.finalStats()) }
        } catch {
            if let failing = notifier.take() { failing.status("failed: \(error)") }
            throw error
        }
    }

    static func listeners(_ configuration: EgressConfiguration) throws(EgressStartError) -> DescriptorSet {
        let activation: InheritedDescriptors?
        do { activation = try InheritedDescriptors.fromProcess() } catch { throw .activation(error) }
        if var inherited = activation {
            guard configuration.listen.isEmpty else { throw .listenAndInherited }
            var taken = inherited.takeAll(EgressProxyRole.descriptorName)
            guard !taken.isEmpty else { throw .activation(.missingName(EgressProxyRole.descriptorName, available: inherited.names)) }
            var taken6 = inherited.takeAll(EgressProxyRole.descriptorName6)
            for index in 0 ..< taken6.count { taken.append(taken6.take(index)) }
            for index in 0 ..< taken.count {
                let fd = taken.raw(index)
                guard (try? ListenerSocket.isStreamListener(fd)) == true else { throw .notAListener(fd) }
            }
            return taken
        }
        guard !configuration.listen.isEmpty else { throw .noSockets }
        var bound = DescriptorSet()
        for address in configuration.listen {
            do { bound.append(try ListenerSocket.listen(address)) } catch { throw .system(error) }
        }
        return bound
    }
}

/// The listener in standalone mode, and the check on inherited ones.
enum ListenerSocket {
    static func listen(_ address: SocketAddress) throws(SystemCallError) -> OwnedFD {
        let fd = OwnedFD(adopting: try systemCall("socket(tcp)") {
            socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        })
        var one: Int32 = 1
        _ = setsockopt(fd.rawValue, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let raw = fd.rawValue
        try systemCall("bind", context: "\(address)") { address.withSockaddr { bind(raw, $0, $1) } }
        try systemCall("listen", context: "\(address)") { Glibc.listen(raw, 1024) }
        return fd
    }

    static func isStreamListener(_ fd: Int32) throws(SystemCallError) -> Bool {
        var type: Int32 = 0
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try systemCall("getsockopt(SO_TYPE)") { getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) }
        try systemCall("getsockopt(SO_ACCEPTCONN)") { getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) }
        return type == Int32(SOCK_STREAM.rawValue) && accepting == 1
    }
}

public enum EgressStartError: Error, CustomStringConvertible {
    case activation(ActivationError)
    case configuration(EgressConfigurationError)
    case listenAndInherited
    case noSockets
    case notAListener(Int32)
    case system(SystemCallError)
    case capabilities(CapabilityRefusalError)
    case syscallFilter(SeccompInstallError)

    public var description: String {
        switch self {
        case .activation(let error): "socket activation: \(error)"
        case .configuration(let error): "\(error)"
        case .listenAndInherited: "--listen given, but listeners were inherited (LISTEN_FDS): use one or the other"
        case .noSockets: "no listener: pass --listen ADDR:PORT or start with LISTEN_FDS/LISTEN_FDNAMES=\(EgressProxyRole.descriptorName)"
        case .notAListener(let fd): "inherited descriptor \(fd) (\(EgressProxyRole.descriptorName)) is not a listening TCP socket"
        case .system(let error): "\(error)"
        case .capabilities(let error): "\(error)"
        case .syscallFilter(let error): "seccomp: \(error)"
        }
    }
}

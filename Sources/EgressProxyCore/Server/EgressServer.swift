#if canImport(Glibc)
import Glibc
#endif
import CShim
import DNSProxyCore
import HelperRuntime
import IPCWire

/// The accept loop: poll(2) on the listeners and the signal descriptor; each
/// accepted connection gets a slot and its own thread, so a slow or stuck client
/// holds only its own thread and slot (both bounded: `maxConnections`, beyond
/// which new connections are closed at once and counted). SIGTERM/SIGINT stop
/// accepting and shut every live connection down; the stats line is written
/// once the last thread has written its event.
public final class EgressServer: @unchecked Sendable {
    let configuration: EgressConfiguration
    let listeners: DescriptorSet
    let signals: SignalWatch
    let registry: ConnectionRegistry
    public let stats = EgressStats()
    let log: EventLog

    public init(configuration: EgressConfiguration, listeners: consuming DescriptorSet, events: consuming OwnedFD?, signals: consuming SignalWatch) {
        self.configuration = configuration
        self.listeners = listeners
        self.signals = signals
        registry = ConnectionRegistry(capacity: configuration.maxConnections)
        log = EventLog(output: events, cellID: configuration.cellID, stats: stats)
    }

    public func serve() {
        let raw = listeners.withRawDescriptors { $0 }
        for listener in raw { ClientSocket.setNonBlocking(listener) }
        var polls = raw.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        polls.append(pollfd(fd: signals.fd.rawValue, events: Int16(POLLIN), revents: 0))
        serving: while true {
            let ready = poll(&polls, nfds_t(polls.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                LogWriter.write("poll: errno \(errno)", priority: .error, program: EgressProxyRole.executableName)
                break
            }
            if polls[polls.count - 1].revents != 0 {
                for signal in (try? signals.pending()) ?? [] {
                    if signal == SIGUSR1 { StandardError.writeLine(stats.json(cellID: configuration.cellID)) } else { break serving }
                }
            }
            for index in raw.indices where polls[index].revents != 0 { acceptAll(raw[index]) }
        }
        registry.shutdownAll()
        while registry.active > 0 {
            var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
            nanosleep(&pause, nil)
        }
    }

    /// The final `egressproxy_stats` line.
    public func finalStats() -> String { stats.json(cellID: configuration.cellID) }

    public func writeFinalStatsToEvents() { log.writeLine(finalStats()) }

    private func acceptAll(_ listener: Int32) {
        while true {
            let fd = cellos_accept(listener, nil, nil, 0)
            guard fd >= 0 else { return }  // EAGAIN: drained; other errors: the next poll retries
            // The slot owns the client from here; when none is free it is closed at once.
            guard let slot = registry.acquire(client: OwnedFD(adopting: fd)) else {
                stats.refusedBusy.add(1, ordering: .relaxed)
                continue
            }
            stats.notePeak(registry.active)
            let work = ConnectionThread(connection: Connection(client: fd, configuration: configuration, registry: registry, slot: slot), log: log)
            if !work.start() {
                stats.refusedBusy.add(1, ordering: .relaxed)
                registry.finish(slot)
            }
        }
    }
}

/// A detached thread running one `Connection`.
final class ConnectionThread: @unchecked Sendable {
    let connection: Connection
    let log: EventLog

    init(connection: Connection, log: EventLog) {
        self.connection = connection
        self.log = log
    }

    func start() -> Bool {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        // The relay buffers are on the heap; a small stack keeps many connections cheap.
        pthread_attr_setstacksize(&attributes, 256 * 1024)
        var handle = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&handle, &attributes, { context in
            let work = Unmanaged<ConnectionThread>.fromOpaque(context!).takeRetainedValue()
            work.connection.run(log: work.log)
            work.connection.registry.finish(work.connection.slot)
            return nil
        }, context)
        if result != 0 { Unmanaged<ConnectionThread>.fromOpaque(context).release() }
        return result == 0
    }
}

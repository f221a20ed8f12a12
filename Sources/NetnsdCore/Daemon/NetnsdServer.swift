#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire
import Synchronization

/// The control socket server: accepts connections, authorizes each peer by
/// `SO_PEERCRED` before reading anything, and serves each connection on its own
/// thread with its own `NetnsdSession`. When a connection ends, for whatever
/// reason, that connection's cells are destroyed.
public final class NetnsdServer: @unchecked Sendable {
    // @unchecked: the mutable state is the Mutex-protected connection table; the
    // rest is immutable after init.
    private let listener: Int32
    /// The socket file this server created (removed on stop), nil when inherited.
    private let socketPath: String?
    public let peerPolicy: PeerPolicy
    /// `--admin-uid`/`--admin-gid`: admitted too; their status covers every connection.
    public let adminPolicy: AdminPolicy
    /// Every live session, for an admin's status (`SessionRegistry`).
    public let sessions = SessionRegistry()
    /// Pin every created cell's netns at /run/netns/cellos-<id> (`--pin`).
    public let pinNamespaces: Bool
    /// Where pins are recorded for the restart sweep (`StateDirectory.pinLedger`).
    public let pinLedger: String?
    /// The NFLOG hook handed to every session (FlowlogCore's opener); nil = no nflog fd.
    public let flowLogSocket: FlowLogSocketOpener?
    /// Uplinks for cells whose policy allows egress (`--uplink-pool`); nil = none.
    public let uplink: UplinkSettings?
    /// Where workload cgroup leaves are made (`--cgroup-root`); nil = none.
    public let cgroups: CgroupSettings?
    /// Whether SpawnWorkload may ask for uid or gid 0 (`--allow-root-workloads`).
    public let allowRootWorkloads: Bool
    /// Workload uid/gid pairs, one book for every connection (`--workload-ids`).
    public let identities: WorkloadIdentities
    /// `--max-connections`, `--max-cells-per-connection`, `--max-cells`.
    public let limits: NetnsdLimits
    /// The live cells of every connection, against `limits.maxCells`.
    public let cellBudget: CellBudget
    private let state = Mutex(ServerState())
    /// What every session's cells and workloads are made with.
    private var backend: KernelCellBackend {
        KernelCellBackend(flowLogSocket: flowLogSocket, pinNamespaces: pinNamespaces, pinLedger: pinLedger, uplink: uplink, cgroups: cgroups)
    }

    private struct ServerState {
        var connections: Set<Int32> = []
        var stopping = false
    }

    /// Takes ownership of a listening `SOCK_SEQPACKET` socket (bound by
    /// `bind(path:)` or inherited through socket activation).
    public convenience init(listening socket: consuming OwnedFD, settings: NetnsdServerSettings) {
        self.init(listening: socket, path: nil, settings: settings)
    }

    private init(listening socket: consuming OwnedFD, path: String?, settings: NetnsdServerSettings) {
        self.adminPolicy = settings.adminPolicy
        self.limits = settings.limits
        self.cellBudget = CellBudget(limit: settings.limits.maxCells)
        self.allowRootWorkloads = settings.allowRootWorkloads
        self.identities = settings.identities ?? WorkloadIdentities(range: .default, scan: ProcessIdentityScan.scan)
        self.cgroups = settings.cgroups
        self.flowLogSocket = settings.flowLogSocket
        self.uplink = settings.uplink
        // Stored raw so other threads can shutdown(2) it; closed in deinit.
        self.listener = socket.release()
        self.socketPath = path
        self.peerPolicy = settings.peerPolicy
        self.pinNamespaces = settings.pinNamespaces
        self.pinLedger = settings.pinLedger
    }

    /// Adopts a socket-activated control socket after checking it is what the
    /// protocol needs: a listening `SOCK_SEQPACKET` socket.
    public static func adopt(activated socket: consuming OwnedFD, settings: NetnsdServerSettings) throws(SystemCallError) -> NetnsdServer {
        var type: Int32 = 0
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        try systemCall("getsockopt(SO_TYPE)", context: "activated control socket") {
            getsockopt(socket.rawValue, SOL_SOCKET, SO_TYPE, &type, &length)
        }
        try systemCall("getsockopt(SO_ACCEPTCONN)", context: "activated control socket") {
            getsockopt(socket.rawValue, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length)
        }
        guard type == Int32(SOCK_SEQPACKET.rawValue), listening == 1 else {
            throw SystemCallError("activated control socket", errno: ENOTSOCK, context: "not a listening SOCK_SEQPACKET socket")
        }
        return NetnsdServer(listening: socket, path: nil, settings: settings)
    }

    /// Binds the control socket at `path` (mode 0660: the allowed uid/gid is
    /// checked by SO_PEERCRED anyway; the mode keeps others from even connecting).
    public static func bind(path: String, settings: NetnsdServerSettings) throws(SystemCallError) -> NetnsdServer {
        let listener = try SeqpacketListener.bind(path: path, mode: 0o660)
        return NetnsdServer(listening: try listener.socket.duplicate(), path: path, settings: settings)
    }

    deinit { _ = close(listener) }

    /// Starts the accept loop on its own thread and returns.
    public func start() throws(SystemCallError) {
        try DetachedThread.start { [self] in acceptLoop() }
    }

    /// Number of connections being served right now.
    public var activeConnections: Int { state.withLock { $0.connections.count } }

    /// Stops accepting, ends every connection (which destroys its cells) and waits
    /// up to `timeoutMilliseconds` for the connection threads to finish.
    public func stop(timeoutMilliseconds: Int = 5000) {
        let open = state.withLock { state in
            state.stopping = true
            return state.connections
        }
        // shutdown(2) wakes the threads blocked in accept/recvmsg; each then cleans up.
        _ = shutdown(listener, Int32(SHUT_RDWR))
        if let socketPath { unlink(socketPath) }
        for fd in open { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while activeConnections > 0 && Monotonic.milliseconds() < deadline { usleep(10_000) }
    }

    private func acceptLoop() {
        var reserve = DescriptorReserve()
        while true {
            let fd = retryingOnInterrupt { cellos_accept(listener, nil, nil, 0) }
            if fd < 0 {
                let failure = SystemCallError("accept4")
                if state.withLock({ $0.stopping }) { return }
                switch failure.errno {
                case EMFILE, ENFILE:
                    // The connection stays queued, so accept would fail again at once:
                    // answer it on the spare descriptor, or back off (nginx-style).
                    let spent = reserve.spend {
                        let waiting = retryingOnInterrupt { cellos_accept(listener, nil, nil, 0) }
                        guard waiting >= 0 else { return }
                        refuse(waiting, code: NetnsdSession.ErrorCode.limitExceeded, reason: Self.outOfDescriptors(failure))
                    }
                    if !spent {
                        NetnsdLog.write("\(failure); backing off", priority: .error)
                        usleep(100_000)
                    }
                case ENOMEM, ENOBUFS:
                    NetnsdLog.write("\(failure); backing off", priority: .error)
                    usleep(100_000)
                default:
                    NetnsdLog.write("\(failure)", priority: .error)
                }
                continue
            }
            let admitted = state.withLock { state -> Bool? in
                guard !state.stopping else { return nil }
                guard state.connections.count < limits.maxConnections else { return false }
                state.connections.insert(fd)
                return true
            }
            guard let admitted else { _ = close(fd); return }
            guard admitted else {
                refuse(fd, code: NetnsdSession.ErrorCode.limitExceeded, reason:
                    "cellos-netnsd already serves \(limits.maxConnections) connections (--max-connections \(limits.maxConnections)); this one is closed")
                continue
            }
            do {
                try DetachedThread.start { [self] in
                    serve(connection: SeqpacketConnection(adopting: OwnedFD(adopting: fd)))
                    state.withLock { _ = $0.connections.remove(fd) }
                }
            } catch {
                NetnsdLog.write("cannot start a connection thread: \(error)", priority: .error)
                state.withLock { _ = $0.connections.remove(fd) }
                refuse(fd, code: NetnsdSession.ErrorCode.limitExceeded, reason: "cellos-netnsd cannot start a connection thread: \(error)")
            }
        }
    }

    static func outOfDescriptors(_ failure: SystemCallError) -> String {
        var limit = rlimit()
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let which = failure.errno == ENFILE ? "the system's descriptor table is full (ENFILE)" : "RLIMIT_NOFILE \(limit.rlim_cur) reached (EMFILE)"
        return "cellos-netnsd is out of descriptors: \(which); this connection is closed"
    }

    /// A connection that will not be served gets one ErrorReply (request id 0, as
    /// an unauthorized peer does) and is closed. A peer that is not admitted
    /// anyway learns only that.
    private func refuse(_ fd: Int32, code: String, reason: String) {
        let connection = SeqpacketConnection(adopting: OwnedFD(adopting: fd))
        var code = code
        var reason = reason
        do {
            _ = try adminPolicy.role(of: try connection.peerCredentials(), clients: peerPolicy)
        } catch {
            code = NetnsdSession.ErrorCode.unauthorized
            reason = "\(error)"
        }
        NetnsdLog.write("refused connection: \(code): \(reason)", priority: .warning)
        try? connection.send(ErrorReply(code: code, message: String(reason.prefix(ErrorReply.maxMessageLength))), requestID: 0, flags: .response)
    }

    /// Serves one connection until the peer closes it; then destroys its cells.
    func serve(connection: consuming SeqpacketConnection) {
        let peer: PeerCredentials
        let role: ConnectionRole
        do {
            peer = try connection.peerCredentials()
            role = try adminPolicy.role(of: peer, clients: peerPolicy)
        } catch {
            // Refused before any request is read: the peer gets the reason, nothing else happens.
            NetnsdLog.write("refused connection: \(error)", priority: .warning)
            try? connection.send(ErrorReply(code: NetnsdSession.ErrorCode.unauthorized, message: "\(error)"), requestID: 0, flags: .response)
            return
        }
        NetnsdLog.write("connection from \(peer)\(role == .client ? "" : role == .adminOnly ? " (admin only)" : " (admin)")")
        // Workload exits are sent from reaper threads on a second descriptor for the
        // same socket; one datagram per sendmsg keeps them whole next to replies.
        let events: EventChannel
        do {
            events = EventChannel(SeqpacketConnection(adopting: try connection.socket.duplicate()))
        } catch {
            NetnsdLog.write("connection from \(peer): \(error)", priority: .warning)
            let refusal = error.errno == EMFILE || error.errno == ENFILE
                ? ErrorReply(code: NetnsdSession.ErrorCode.limitExceeded, message: Self.outOfDescriptors(error))
                : ErrorReply(code: NetnsdSession.ErrorCode.setupFailed, message: "cellos-netnsd cannot serve this connection: \(error)")
            try? connection.send(refusal, requestID: 0, flags: .response)
            return
        }
        let session = NetnsdSession(
            peer: peer, role: role,
            configuration: NetnsdSession.Configuration(
                maxCells: limits.maxCellsPerConnection, budget: cellBudget, identities: identities, allowRootWorkloads: allowRootWorkloads,
                registry: sessions, exitSink: { exited in events.send(exited) }),
            backend: backend)
        sessions.register(session)
        defer {
            sessions.unregister(session)
            let destroyed = session.destroyAll()
            // Their workloads' cgroup leaves go before the connection counts as closed.
            if !session.waitForReapers() { NetnsdLog.write("connection from \(peer): workload reapers still busy", priority: .warning) }
            NetnsdLog.write("connection from \(peer) closed; destroyed \(destroyed) remaining cell(s)")
        }
        while true {
            let frame: Frame
            do {
                frame = try connection.receive()
            } catch .peerClosed {
                return
            } catch .system(let error) {
                NetnsdLog.write("receiving from \(peer): \(error)", priority: .warning)
                return
            } catch {
                // A malformed datagram: refuse it and keep serving (datagram boundaries survive).
                NetnsdLog.write("malformed frame from \(peer): \(error)", priority: .warning)
                guard (try? connection.send(ErrorReply(code: NetnsdSession.ErrorCode.invalidRequest, message: "\(error)"), requestID: 0, flags: .response)) != nil else { return }
                continue
            }
            // The session logs what it refuses.
            let reply = session.handle(frame)
            do {
                try connection.send(reply)
            } catch {
                NetnsdLog.write("replying to \(peer): \(error)", priority: .warning)
                return
            }
            session.closeDestroyedCells()
        }
    }
}


/// The sending side of a connection for unsolicited `WorkloadExited` events.
final class EventChannel: @unchecked Sendable {
    // @unchecked: only `send` touches the connection, and sendmsg is thread-safe.
    private let connection: SeqpacketConnection

    init(_ connection: consuming SeqpacketConnection) { self.connection = connection }

    func send(_ exited: WorkloadExited) {
        // Request id 0 and no response flag: an event, not a reply. A peer that
        // went away just misses it (MSG_NOSIGNAL, EPIPE ignored).
        try? connection.send(NetnsdFrame.make(exited, requestID: 0))
    }
}

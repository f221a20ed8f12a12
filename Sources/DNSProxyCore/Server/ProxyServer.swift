#if canImport(Glibc)
import Glibc
#endif
import CShim
import HelperRuntime
import IPCWire

/// The proxy's single-threaded event loop: client sockets, upstream sockets and a
/// signalfd on one epoll set; a separate thread only writes events.
///
/// Hot-path rules: one receive buffer and one answer buffer allocated up front,
/// queries examined where they were received, no Strings until an event is
/// rendered on the writer thread.
public final class ProxyServer {
    enum Token {
        static let signals: UInt64 = 0
        static let udpListener: UInt64 = 1
        static let tcpListener: UInt64 = 2
        static let firstUpstream: UInt64 = 16
        static let firstConnection: UInt64 = 1 << 32
    }

    let configuration: ProxyConfiguration
    private let udpSocket: OwnedFD
    private let tcpSocket: OwnedFD?
    /// The listeners' raw descriptors for the calls that borrow them (-1: no TCP listener).
    var udpListener: Int32 { udpSocket.rawValue }
    var tcpListener: Int32 { tcpSocket.borrowedRawValue ?? -1 }
    let upstreamSockets: DescriptorSet
    let upstreamKey: EndpointKey
    let epoll: Epoll
    let signals: SignalWatch
    let events: EventWriter?
    let pending: PendingQueries
    var random = RandomIDs()
    var stats = ProxyStats()
    var stopping = false
    let timeoutNanoseconds: Int64
    /// One datagram or TCP message in, one answer out.
    let receiveBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    let answerBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    var tcp: TCPState
    /// Client queries in (recvmmsg), forwarded queries out (sendmmsg, all on the
    /// round's upstream socket), upstream answers in, UDP answers out.
    let clientBatch = DatagramBatch(stride: ProxyServer.maxUDPQuery)
    let forwardBatch = DatagramBatch(stride: ProxyServer.maxUDPQuery)
    let upstreamBatch = DatagramBatch(stride: 65536, capacity: 16)
    let replyBatch = DatagramBatch(stride: 65536, capacity: 32)
    var roundUpstreamSocket = 0
    /// Larger UDP queries are not queries anybody sends: malformed (`too_large`).
    static let maxUDPQuery = 4096

    /// Takes the listening sockets, creates the upstream sockets and the epoll set,
    /// blocks the handled signals (before the event thread exists, so it inherits
    /// the mask) and opens the events destination.
    public init(configuration: ProxyConfiguration, listeners: consuming ListenerSockets) throws(ProxyStartError) {
        self.configuration = configuration
        let udpType: Int32
        let tcpType: Int32
        do throws(SystemCallError) {
            udpType = try Sockets.type(of: listeners.udp.rawValue)
            let tcpRaw = listeners.tcp.borrowedRawValue ?? -1
            tcpType = tcpRaw >= 0 ? try Sockets.type(of: tcpRaw) : Int32(SOCK_STREAM.rawValue)
        } catch {
            throw .system(error)
        }
        guard udpType == Int32(SOCK_DGRAM.rawValue) else { throw .wrongSocketType("dns-udp", expected: "SOCK_DGRAM") }
        guard tcpType == Int32(SOCK_STREAM.rawValue) else { throw .wrongSocketType("dns-tcp", expected: "SOCK_STREAM") }
        udpSocket = listeners.udp
        tcpSocket = listeners.tcp
        upstreamKey = configuration.upstream.key
        pending = PendingQueries(capacity: configuration.maxInflight)
        timeoutNanoseconds = Int64(configuration.upstreamTimeoutMilliseconds) * 1_000_000
        self.tcp = TCPState(maxConnections: configuration.tcpMaxConnections)
        self.tcp.idleNanoseconds = Int64(configuration.tcpIdleTimeoutMilliseconds) * 1_000_000
        do throws(SystemCallError) {
            var upstream = DescriptorSet()
            for _ in 0 ..< configuration.upstreamSockets {
                upstream.append(try Sockets.upstreamUDP(family: configuration.upstream.family))
            }
            upstreamSockets = upstream
            epoll = try Epoll()

            signals = try SignalWatch()

            if let path = configuration.eventsPath {
                events = try EventWriter(path: path, cellID: configuration.cellID, capacity: configuration.eventQueueCapacity)
            } else {
                events = nil
            }

            if tcpListener >= 0 {
                // accept(2) has no MSG_DONTWAIT: the listener itself must not block. (For an
                // inherited socket this flag is shared with the parent's copy, which only
                // passed it on.)
                let flags = try systemCall("fcntl(F_GETFL)", context: "dns-tcp") { fcntl(tcpListener, F_GETFL) }
                try systemCall("fcntl(F_SETFL)", context: "dns-tcp") { fcntl(tcpListener, F_SETFL, flags | O_NONBLOCK) }
            }
            try watch(signals.fd.rawValue, Token.signals)
            try watch(udpListener, Token.udpListener)
            if tcpListener >= 0 { try watch(tcpListener, Token.tcpListener) }
            for index in 0 ..< upstreamSockets.count { try watch(upstreamSockets.raw(index), Token.firstUpstream + UInt64(index)) }
        } catch {
            throw .system(error)
        }
    }

    deinit {
        receiveBuffer.deallocate()
        answerBuffer.deallocate()
    }

    /// Starts the event writer thread; after it, the sockets are served as soon as
    /// `serve()` runs (queries that arrive meanwhile wait in the socket buffers).
    public func start() throws(ProxyStartError) {
        do { try events?.start() } catch { throw .system(error) }
    }

    /// Serves until SIGTERM or SIGINT. Returns the final counters, after every
    /// queued event was written.
    public func serve() throws(ProxyStartError) -> ProxyStats {
        var eventMasks = [UInt32](repeating: 0, count: 64)
        var tokens = [UInt64](repeating: 0, count: 64)
        while !stopping {
            let count: Int
            do { count = try epoll.wait(masks: &eventMasks, tokens: &tokens, timeoutMilliseconds: waitTimeout()) } catch {
                throw .system(error)
            }
            for index in 0 ..< Int(count) {
                let token = tokens[index]
                switch token {
                case Token.signals: handleSignals()
                case Token.udpListener: serveUDPClients()
                case Token.tcpListener: acceptTCPClients()
                case Token.firstUpstream ..< Token.firstUpstream + UInt64(upstreamSockets.count):
                    serveUpstream(Int(token - Token.firstUpstream))
                default: serveTCPConnection(token: token, events: eventMasks[index])
                }
            }
            expireQueries()
            expireTCPConnections()
            resumeAcceptingIfDue()
            replyBatch.flush(through: udpListener)
        }
        events?.stop()
        let final = snapshot()
        if configuration.statsInEvents { events?.appendFinalLine(final.json(cellID: configuration.cellID)) }
        return final
    }

    /// The counters now, events included.
    public func snapshot() -> ProxyStats {
        var current = stats
        current.eventsWritten = events?.writtenCount ?? 0
        current.eventsDropped = events?.queue.droppedCount ?? 0
        current.eventWriteFailures = events?.writeFailureCount ?? 0
        return current
    }

    func watch(_ fd: Int32, _ token: UInt64, events mask: UInt32 = EPOLLIN.rawValue) throws(SystemCallError) {
        try epoll.add(fd, events: mask, token: token)
    }

    /// Milliseconds until the oldest pending query (or TCP connection) expires.
    private func waitTimeout() -> Int32 {
        var deadline: Int64 = .max
        if pending.oldest >= 0 { deadline = pending[pending.oldest].sentAtNanoseconds + timeoutNanoseconds }
        deadline = min(deadline, tcp.nextDeadline)
        guard deadline != .max else { return -1 }
        let left = deadline - Monotonic.nanoseconds()
        return left <= 0 ? 0 : Int32(clamping: (left + 999_999) / 1_000_000)
    }

    private func handleSignals() {
        while let signal = try? signals.next() {
            switch signal {
            case SIGUSR1: StandardError.writeLine(snapshot().json(cellID: configuration.cellID))
            default: stopping = true
            }
        }
    }

    // MARK: UDP clients

    private func serveUDPClients() {
        // At most 4 batches per wake-up so one busy socket cannot starve the upstream side.
        for _ in 0 ..< 4 {
            let count = clientBatch.receive(from: udpListener)
            if count == 0 { return }
            roundUpstreamSocket = Int(random.next16()) % upstreamSockets.count
            for index in 0 ..< count {
                let client = clientBatch.addresses[index]
                if clientBatch.wasTruncated(index) {
                    rejectMalformed(.tooLarge, from: client, via: .udp(client))
                    continue
                }
                handleQuery(clientBatch.datagram(index), from: client, via: .udp(client))
            }
            forwardBatch.flush(through: upstreamSockets.raw(roundUpstreamSocket))
            if count < clientBatch.capacity { return }
        }
    }

    /// Where an answer to a query goes.
    enum ReplyPath {
        case udp(SocketAddress)
        case tcp(connection: Int32, generation: UInt32)

        var transport: QueryTransport { if case .udp = self { .udp } else { .tcp } }
    }

    /// Applies the policy to one query and answers, refuses or forwards it.
    func handleQuery(_ message: UnsafeMutableRawBufferPointer, from client: SocketAddress, via path: ReplyPath) {
        stats.queriesTotal += 1
        let transport = path.transport
        let query: DNSQuery
        do {
            query = try DNSQueryParser.parse(UnsafeRawBufferPointer(message))
        } catch {
            rejectMalformed(error, from: client, via: path)
            return
        }
        let name = UnsafeRawBufferPointer(rebasing: message[DNSQuery.nameOffset ..< DNSQuery.nameOffset + query.nameLength])
        let reason: QueryReason
        if !configuration.names.allows(name) {
            reason = .deniedName
            stats.deniedName += 1
        } else if !configuration.queryTypes.allows(query.qtype) {
            reason = .deniedQueryType
            stats.deniedQueryType += 1
        } else {
            stats.allowed += 1
            forward(message, query: query, client: client, via: path)
            return
        }
        let question = UnsafeRawBufferPointer(rebasing: message[query.questionRange])
        answerLocally(rcode: DNSResponseCode.refused, id: query.id, flags: query.flags, question: question, via: path)
        emit(QueryEventRecord(client: client, transport: transport, reason: reason, queryType: Int32(query.qtype), responseCode: Int16(DNSResponseCode.refused)), name: name)
    }

    /// No answer; an event; over TCP the connection is closed.
    func rejectMalformed(_ error: MalformedQuery, from client: SocketAddress, via path: ReplyPath) {
        stats.malformed += 1
        emit(QueryEventRecord(client: client, transport: path.transport, reason: .malformedQuery, malformed: error), name: UnsafeRawBufferPointer(start: nil, count: 0))
        if case .tcp(let connection, _) = path { closeTCPConnection(connection) }
    }

    private func forward(_ message: UnsafeMutableRawBufferPointer, query: DNSQuery, client: SocketAddress, via path: ReplyPath) {
        let question = UnsafeRawBufferPointer(rebasing: message[query.questionRange])
        let now = Monotonic.nanoseconds()
        if case .tcp(let connection, _) = path,
           tcp.connections[Int(connection)].inflight >= configuration.tcpMaxInflightPerConnection {
            stats.tcpInflightRefused += 1
            failUpstream(id: query.id, flags: query.flags, qtype: query.qtype, question: question, client: client, via: path, latency: -1)
            return
        }
        guard let slot = pending.allocate(question: question, now: now, random: &random) else {
            failUpstream(id: query.id, flags: query.flags, qtype: query.qtype, question: question, client: client, via: path, latency: -1)
            return
        }
        pending[slot].clientID = query.id
        pending[slot].clientFlags = query.flags
        pending[slot].queryType = query.qtype
        pending[slot].client = client
        DNSHeader.setU16(message, 0, pending[slot].upstreamID)
        let sent: Bool
        switch path {
        case .udp:
            // Sent with the round's other queries when serveUDPClients flushes; a send
            // the kernel drops then shows up as upstream_timeout.
            pending[slot].transport = .udp
            pending[slot].socketIndex = roundUpstreamSocket
            forwardBatch.append(UnsafeRawBufferPointer(message), to: configuration.upstream,
                                flushingThrough: upstreamSockets.raw(roundUpstreamSocket))
            sent = true
        case .tcp(let connection, let generation):
            // Only the connection's own upstream TCP stream may answer it.
            pending[slot].transport = .tcp
            pending[slot].socketIndex = -1
            pending[slot].connection = connection
            pending[slot].connectionGeneration = generation
            tcp.connections[Int(connection)].inflight += 1
            sent = forwardTCP(UnsafeRawBufferPointer(message), connection: connection)
        }
        if !sent {
            finishPending(slot)
            failUpstream(id: query.id, flags: query.flags, qtype: query.qtype, question: question, client: client, via: path, latency: -1)
        }
    }

    /// SERVFAIL (reason upstream_failure) for a query the upstream can no longer answer.
    func failPending(_ slot: Int32) {
        let entry = pending[slot]
        let question = Array(pending.question(slot))
        let path: ReplyPath = entry.transport == .udp
            ? .udp(entry.client) : .tcp(connection: entry.connection, generation: entry.connectionGeneration)
        finishPending(slot)
        question.withUnsafeBytes { question in
            failUpstream(id: entry.clientID, flags: entry.clientFlags, qtype: entry.queryType, question: question,
                         client: entry.client, via: path,
                         latency: (Monotonic.nanoseconds() - entry.sentAtNanoseconds) / 1000)
        }
    }

    /// Releases a pending entry (and its TCP connection's in-flight count).
    func finishPending(_ slot: Int32) {
        let entry = pending[slot]
        if entry.transport == .tcp { tcp.queryFinished(connection: entry.connection, generation: entry.connectionGeneration) }
        pending.release(slot)
    }

    /// SERVFAIL for a query the upstream could not be asked.
    private func failUpstream(
        id: UInt16, flags: UInt16, qtype: UInt16, question: UnsafeRawBufferPointer, client: SocketAddress,
        via path: ReplyPath, latency: Int64
    ) {
        stats.upstreamFailures += 1
        answerLocally(rcode: DNSResponseCode.servFail, id: id, flags: flags, question: question, via: path)
        emit(QueryEventRecord(client: client, transport: path.transport, reason: .upstreamFailure, queryType: Int32(qtype), responseCode: Int16(DNSResponseCode.servFail), upstreamLatencyMicroseconds: latency), name: UnsafeRawBufferPointer(rebasing: question.dropLast(4)))
    }

    private func answerLocally(rcode: UInt8, id: UInt16, flags: UInt16, question: UnsafeRawBufferPointer, via path: ReplyPath) {
        let length = DNSResponseBuilder.answer(rcode: rcode, id: id, queryFlags: flags, question: question, into: answerBuffer)
        reply(UnsafeRawBufferPointer(rebasing: answerBuffer[0 ..< length]), via: path)
    }

    func reply(_ message: UnsafeRawBufferPointer, via path: ReplyPath) {
        switch path {
        case .udp(let client):
            // Sent with the loop iteration's other answers; a full socket buffer drops
            // it, as the network would, and the client retries.
            replyBatch.append(message, to: client, flushingThrough: udpListener)
        case .tcp(let connection, let generation):
            sendTCP(message, connection: connection, generation: generation)
        }
    }

    func emit(_ record: QueryEventRecord, name: UnsafeRawBufferPointer) {
        guard let events else { return }
        var stamped = record
        stamped.realtimeNanoseconds = RealtimeClock.nanoseconds()
        events.queue.push(stamped, name: name)
    }

    // MARK: Upstream

    private func serveUpstream(_ index: Int) {
        for _ in 0 ..< 4 {
            let count = upstreamBatch.receive(from: upstreamSockets.raw(index))
            if count == 0 { return }
            for datagram in 0 ..< count {
                let answer = upstreamBatch.datagram(datagram)
                guard !upstreamBatch.wasTruncated(datagram), answer.count >= 2,
                      let slot = pending.lookup(upstreamID: DNSHeader.u16(UnsafeRawBufferPointer(answer), 0)),
                      pending[slot].socketIndex == index
                else {
                    stats.upstreamAnswersDropped += 1
                    continue
                }
                do {
                    try UpstreamAnswerCheck.check(
                        UnsafeRawBufferPointer(answer), from: upstreamBatch.addresses[datagram].key, expectedSource: upstreamKey,
                        expectedID: pending[slot].upstreamID, question: pending.question(slot))
                } catch {
                    stats.upstreamAnswersDropped += 1
                    continue
                }
                relay(answer, for: slot)
            }
            if count < upstreamBatch.capacity { return }
        }
    }

    /// Sends a checked upstream answer back with the client's ID and the client's
    /// spelling of the question (the upstream may have changed its case).
    func relay(_ answer: UnsafeMutableRawBufferPointer, for slot: Int32) {
        let entry = pending[slot]
        let question = pending.question(slot)
        DNSHeader.setU16(answer, 0, entry.clientID)
        UnsafeMutableRawBufferPointer(rebasing: answer[DNSHeader.length ..< DNSHeader.length + question.count]).copyMemory(from: question)
        let path: ReplyPath = entry.transport == .udp
            ? .udp(entry.client) : .tcp(connection: entry.connection, generation: entry.connectionGeneration)
        reply(UnsafeRawBufferPointer(answer), via: path)
        emit(QueryEventRecord(client: entry.client, transport: entry.transport, reason: .allowed, queryType: Int32(entry.queryType), responseCode: Int16(answer[3] & 0x0F), upstreamLatencyMicroseconds: (Monotonic.nanoseconds() - entry.sentAtNanoseconds) / 1000), name: UnsafeRawBufferPointer(rebasing: question.dropLast(4)))
        finishPending(slot)
    }

    /// SERVFAIL to every query whose upstream stayed silent past the timeout.
    private func expireQueries() {
        guard pending.oldest >= 0 else { return }
        let now = Monotonic.nanoseconds()
        while pending.oldest >= 0 {
            let slot = pending.oldest
            let entry = pending[slot]
            guard entry.sentAtNanoseconds + timeoutNanoseconds <= now else { return }
            stats.upstreamTimeouts += 1
            let question = pending.question(slot)
            let path: ReplyPath = entry.transport == .udp
                ? .udp(entry.client) : .tcp(connection: entry.connection, generation: entry.connectionGeneration)
            answerLocally(rcode: DNSResponseCode.servFail, id: entry.clientID, flags: entry.clientFlags, question: question, via: path)
            emit(QueryEventRecord(client: entry.client, transport: entry.transport, reason: .upstreamTimeout, queryType: Int32(entry.queryType), responseCode: Int16(DNSResponseCode.servFail), upstreamLatencyMicroseconds: (now - entry.sentAtNanoseconds) / 1000), name: UnsafeRawBufferPointer(rebasing: question.dropLast(4)))
            finishPending(slot)
        }
    }
}

/// The client-side sockets: UDP always, TCP when given.
public struct ListenerSockets: ~Copyable {
    public let udp: OwnedFD
    /// nil when there is no TCP listener.
    public let tcp: OwnedFD?

    public init(udp: consuming OwnedFD, tcp: consuming OwnedFD? = nil) {
        self.udp = udp
        self.tcp = tcp
    }
}

/// Why the proxy could not start serving.
public enum ProxyStartError: Error, CustomStringConvertible {
    case system(SystemCallError)
    case wrongSocketType(String, expected: String)
    case configuration(ConfigurationError)
    case activation(ActivationError)
    case capabilities(CapabilityRefusalError)
    case noSockets
    case listenAndInherited
    case syscallFilter(SeccompInstallError)
    case privilegeDrop(IdentityDropError)

    public var description: String {
        switch self {
        case .system(let error): error.description
        case .wrongSocketType(let name, let expected): "inherited socket '\(name)' is not \(expected)"
        case .configuration(let error): error.description
        case .activation(let error): error.description
        case .capabilities(let error): error.description
        case .noSockets: "nothing to serve: pass --listen ADDR:PORT or start socket-activated (LISTEN_FDNAMES=dns-udp:dns-tcp)"
        case .listenAndInherited: "--listen cannot be combined with inherited sockets"
        case .syscallFilter(let error): "cannot confine the process: \(error)"
        case .privilegeDrop(let error): "--user: \(error)"
        }
    }
}

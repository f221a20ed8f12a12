import CShim
#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// DNS over TCP (RFC 7766): length-prefixed messages (each side a `TCPStream`), several in flight on one
/// connection and answered as they complete, an idle timeout, and a cap on
/// concurrent connections. Each client connection gets its own upstream TCP
/// connection (opened on its first allowed query), so a truncated UDP answer's
/// TCP retry reaches the upstream over TCP. Sockets never block: a slow or
/// half-open client only ever holds its own buffers, and is closed when it goes
/// idle or lets too much output pile up.
struct TCPState {
    /// A slot: free while `clientSide` is nil. Dropping a stream closes its socket.
    struct Connection {
        var clientSide: TCPStream?
        var generation: UInt32 = 0
        var client = SocketAddress()
        var inflight = 0
        var lastActivity: Int64 = 0
        var readClosed = false
        var upstreamSide: TCPStream?
        var upstreamConnected = false

        var isOpen: Bool { clientSide != nil }
    }
    var connections: [Connection]
    var open = 0
    var idleNanoseconds: Int64 = 10_000_000_000
    /// While accept(2) fails for want of descriptors the listener is off the epoll
    /// set until then (a level-triggered listener would wake the loop at once,
    /// forever); `.max` while accepting.
    var acceptResumesAt: Int64 = .max
    static let acceptPauseNanoseconds: Int64 = 100_000_000

    init(maxConnections: Int) {
        connections = Array(repeating: Connection(), count: maxConnections)
    }

    /// The next idle deadline among open connections without queries in flight.
    var nextDeadline: Int64 {
        guard open > 0 else { return acceptResumesAt }
        var deadline = acceptResumesAt
        for connection in connections where connection.isOpen && connection.inflight == 0 {
            deadline = min(deadline, connection.lastActivity + idleNanoseconds)
        }
        return deadline
    }

    mutating func queryFinished(connection: Int32, generation: UInt32) {
        guard connections[Int(connection)].generation == generation, connections[Int(connection)].inflight > 0 else { return }
        connections[Int(connection)].inflight -= 1
    }
}

extension ProxyServer {
    static func clientToken(_ index: Int) -> UInt64 { Token.firstConnection + UInt64(index) * 2 }
    static func upstreamToken(_ index: Int) -> UInt64 { Token.firstConnection + UInt64(index) * 2 + 1 }

    func acceptTCPClients() {
        guard tcpListener >= 0 else { return }
        for _ in 0 ..< 64 {
            var client = SocketAddress()
            var length = UInt32(SocketAddress.capacity)
            let raw = withUnsafeMutablePointer(to: &client.storage) { cellos_accept(tcpListener, $0, &length, 1) }
            if raw < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { pauseAccepting() }
                return
            }
            let socket = OwnedFD(adopting: raw)
            guard let index = tcp.connections.firstIndex(where: { !$0.isOpen }) else {
                // At the cap: refuse by closing rather than letting the backlog grow.
                stats.tcpConnectionsRejected += 1
                socket.close()
                continue
            }
            stats.tcpConnections += 1
            tcp.connections[index].generation &+= 1
            let generation = tcp.connections[index].generation
            tcp.connections[index] = TCPState.Connection(
                clientSide: TCPStream(socket: socket), generation: generation, client: client, lastActivity: Monotonic.nanoseconds())
            tcp.open += 1
            do {
                try watch(raw, Self.clientToken(index), events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
            } catch {
                closeTCPConnection(Int32(index))
            }
        }
    }

    /// Out of descriptors or memory: the waiting connection stays queued (the
    /// client sees a slow connect, never a crash) until a connection closes or
    /// the pause ends, whichever comes first.
    private func pauseAccepting() {
        stats.tcpAcceptFailures += 1
        guard tcp.acceptResumesAt == .max else { return }
        try? epoll.remove(tcpListener)
        tcp.acceptResumesAt = Monotonic.nanoseconds() + TCPState.acceptPauseNanoseconds
    }

    func resumeAcceptingIfDue() {
        guard tcp.acceptResumesAt != .max, tcp.acceptResumesAt <= Monotonic.nanoseconds() else { return }
        tcp.acceptResumesAt = .max
        // Level-triggered: a connection queued meanwhile is reported at once.
        if (try? watch(tcpListener, Token.tcpListener)) == nil { pauseAccepting() }
    }

    func serveTCPConnection(token: UInt64, events: UInt32) {
        let slot = token - Token.firstConnection
        let index = Int(slot / 2)
        guard index < tcp.connections.count, tcp.connections[index].isOpen else { return }
        if slot % 2 == 1 {
            serveUpstreamTCP(index, events: events)
        } else {
            serveClientTCP(index, events: events)
        }
    }

    private func serveClientTCP(_ index: Int, events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 { flushClient(index) }
        guard tcp.connections[index].isOpen else { return }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readClient(index)
        }
    }

    private func readClient(_ index: Int) {
        let generation = tcp.connections[index].generation
        while let stream = tcp.connections[index].clientSide, tcp.connections[index].generation == generation {
            switch stream.read(using: receiveBuffer) {
            case .closed:
                tcp.connections[index].readClosed = true
                try? epoll.remove(stream.fd)
                closeIfDone(index)
                return
            case .failed:
                closeTCPConnection(Int32(index))
                return
            case .wouldBlock:
                return
            case .data:
                tcp.connections[index].lastActivity = Monotonic.nanoseconds()
                processClientInput(index, generation: generation)
            }
        }
    }

    /// Handles every complete length-prefixed message buffered on the connection.
    private func processClientInput(_ index: Int, generation: UInt32) {
        guard let stream = tcp.connections[index].clientSide else { return }
        var consumed = 0
        while tcp.connections[index].clientSide === stream && tcp.connections[index].generation == generation {
            guard let message = stageLengthPrefixedMessage(stream.input, from: &consumed) else { break }
            handleQuery(message, from: tcp.connections[index].client, via: .tcp(connection: Int32(index), generation: generation))
        }
        if tcp.connections[index].clientSide === stream && consumed > 0 {
            stream.input.removeFirst(consumed)
        }
    }

    func sendTCP(_ message: UnsafeRawBufferPointer, connection: Int32, generation: UInt32) {
        let index = Int(connection)
        guard let stream = tcp.connections[index].clientSide, tcp.connections[index].generation == generation else { return }
        guard stream.queue(message) else {
            // The client does not read its answers: it loses the connection, nobody else waits.
            closeTCPConnection(connection)
            return
        }
        tcp.connections[index].lastActivity = Monotonic.nanoseconds()
        flushClient(index)
    }

    private func flushClient(_ index: Int) {
        guard let stream = tcp.connections[index].clientSide else { return }
        guard stream.flush() else {
            closeTCPConnection(Int32(index))
            return
        }
        // A client whose read side ended was taken off the epoll set.
        if !tcp.connections[index].readClosed { stream.updateInterest(in: epoll, token: Self.clientToken(index)) }
        closeIfDone(index)
    }

    /// A client that closed its side is closed once its answers are out.
    private func closeIfDone(_ index: Int) {
        let connection = tcp.connections[index]
        guard let stream = connection.clientSide, connection.readClosed, connection.inflight == 0, !stream.hasPendingOutput else { return }
        closeTCPConnection(Int32(index))
    }

    func closeTCPConnection(_ connection: Int32) {
        let index = Int(connection)
        guard tcp.connections[index].isOpen else { return }
        let generation = tcp.connections[index].generation
        // Dropping both streams closes both sockets.
        tcp.connections[index] = TCPState.Connection(generation: generation)
        tcp.open -= 1
        // A descriptor was freed: a paused accept may try again now.
        if tcp.acceptResumesAt != .max { tcp.acceptResumesAt = 0 }
        // Queries of this connection still waiting upstream have nobody to answer.
        var slot = pending.oldest
        while slot >= 0 {
            let next = pending[slot].next
            if pending[slot].transport == .tcp && pending[slot].connection == connection
                && pending[slot].connectionGeneration == generation {
                pending.release(slot)
            }
            slot = next
        }
    }

    func expireTCPConnections() {
        guard tcp.open > 0 else { return }
        let now = Monotonic.nanoseconds()
        for index in tcp.connections.indices {
            let connection = tcp.connections[index]
            if connection.isOpen && connection.inflight == 0 && connection.lastActivity + tcp.idleNanoseconds <= now {
                closeTCPConnection(Int32(index))
            }
        }
    }

    // MARK: Upstream over TCP

    /// Sends a query of client connection `connection` to the upstream over that
    /// connection's own upstream TCP connection. False when it cannot be sent.
    func forwardTCP(_ message: UnsafeRawBufferPointer, connection: Int32) -> Bool {
        let index = Int(connection)
        if tcp.connections[index].upstreamSide == nil {
            guard let socket = try? OwnedFD.socket(
                domain: configuration.upstream.family, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue))
            else { return false }
            let attempt = configuration.upstream.withSockaddr { address, length in
                Result { () throws(SystemCallError) in try socket.connect(address, length: length) }
            }
            guard case .success(let connected) = attempt else { return false }
            let mask = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue
            guard (try? epoll.add(socket.rawValue, events: mask, token: Self.upstreamToken(index))) != nil else { return false }
            tcp.connections[index].upstreamSide = TCPStream(socket: socket, wantsWrite: true)
            tcp.connections[index].upstreamConnected = connected
        }
        guard let stream = tcp.connections[index].upstreamSide, stream.queue(message) else { return false }
        if tcp.connections[index].upstreamConnected { flushUpstream(index) }
        return true
    }

    private func serveUpstreamTCP(_ index: Int, events: UInt32) {
        if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 && !tcp.connections[index].upstreamConnected {
            failUpstreamTCP(index)
            return
        }
        if events & EPOLLOUT.rawValue != 0 {
            tcp.connections[index].upstreamConnected = true
            flushUpstream(index)
        }
        guard tcp.connections[index].upstreamSide != nil else { return }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readUpstream(index)
        }
    }

    private func flushUpstream(_ index: Int) {
        guard let stream = tcp.connections[index].upstreamSide else { return }
        guard stream.flush() else {
            failUpstreamTCP(index)
            return
        }
        stream.updateInterest(in: epoll, token: Self.upstreamToken(index))
    }

    private func readUpstream(_ index: Int) {
        while let stream = tcp.connections[index].upstreamSide {
            switch stream.read(using: receiveBuffer) {
            case .closed, .failed:
                failUpstreamTCP(index)
                return
            case .wouldBlock:
                return
            case .data:
                var consumed = 0
                while let answer = stageLengthPrefixedMessage(stream.input, from: &consumed) {
                    acceptUpstreamTCPAnswer(answer, connection: index)
                    guard tcp.connections[index].isOpen else { return }
                }
                if consumed > 0 { stream.input.removeFirst(consumed) }
            }
        }
    }

    /// The next complete RFC 7766 message (2-byte big-endian length, then the body) in
    /// `input` at `offset`, copied to the start of the receive buffer; `offset` moves
    /// past it. Nil while the message is still incomplete. Shared by the client side
    /// and the upstream side of a TCP connection.
    private func stageLengthPrefixedMessage(_ input: [UInt8], from offset: inout Int) -> UnsafeMutableRawBufferPointer? {
        guard input.count - offset >= 2 else { return nil }
        let length = Int(input[offset]) << 8 | Int(input[offset + 1])
        guard input.count - offset - 2 >= length else { return nil }
        let body = (offset + 2) ..< (offset + 2 + length)
        let staged = UnsafeMutableRawBufferPointer(rebasing: receiveBuffer[0 ..< length])
        input.withUnsafeBytes { raw in staged.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[body])) }
        offset = body.upperBound
        return staged
    }

    private func acceptUpstreamTCPAnswer(_ answer: UnsafeMutableRawBufferPointer, connection index: Int) {
        guard answer.count >= 2, let slot = pending.lookup(upstreamID: DNSHeader.u16(UnsafeRawBufferPointer(answer), 0)),
              pending[slot].transport == .tcp, pending[slot].connection == Int32(index),
              pending[slot].connectionGeneration == tcp.connections[index].generation
        else {
            stats.upstreamAnswersDropped += 1
            return
        }
        do {
            // A connected TCP stream has only one possible source.
            try UpstreamAnswerCheck.check(
                UnsafeRawBufferPointer(answer), from: upstreamKey, expectedSource: upstreamKey,
                expectedID: pending[slot].upstreamID, question: pending.question(slot))
        } catch {
            stats.upstreamAnswersDropped += 1
            return
        }
        relay(answer, for: slot)
    }

    /// The upstream connection failed: SERVFAIL for every query waiting on it.
    private func failUpstreamTCP(_ index: Int) {
        guard tcp.connections[index].upstreamSide != nil else { return }
        // Dropping the stream closes its socket and discards its buffers.
        tcp.connections[index].upstreamSide = nil
        tcp.connections[index].upstreamConnected = false
        let generation = tcp.connections[index].generation
        var slot = pending.oldest
        while slot >= 0 {
            let next = pending[slot].next
            let entry = pending[slot]
            if entry.transport == .tcp && entry.connection == Int32(index) && entry.connectionGeneration == generation {
                failPending(slot)
            }
            slot = next
        }
    }
}

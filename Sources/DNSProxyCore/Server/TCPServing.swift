import CShim
#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// DNS over TCP (RFC 7766): length-prefixed messages, several in flight on one
/// connection and answered as they complete, an idle timeout, and a cap on
/// concurrent connections. Each client connection gets its own upstream TCP
/// connection (opened on its first allowed query), so a truncated UDP answer's
/// TCP retry reaches the upstream over TCP. Sockets never block: a slow or
/// half-open client only ever holds its own buffers, and is closed when it goes
/// idle or lets too much output pile up.
struct TCPState {
    struct Connection {
        var fd: Int32 = -1
        var generation: UInt32 = 0
        var client = SocketAddress()
        var input: [UInt8] = []
        var output: [UInt8] = []
        var outputSent = 0
        var inflight = 0
        var lastActivity: Int64 = 0
        var readClosed = false
        var wantsWrite = false
        var upstreamFD: Int32 = -1
        var upstreamConnected = false
        var upstreamWantsWrite = false
        var upstreamInput: [UInt8] = []
        var upstreamOutput: [UInt8] = []
        var upstreamOutputSent = 0
    }

    static let maxOutput = 1 << 18
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
        for connection in connections where connection.fd >= 0 && connection.inflight == 0 {
            deadline = min(deadline, connection.lastActivity + idleNanoseconds)
        }
        return deadline
    }

    mutating func queryFinished(connection: Int32, generation: UInt32) {
        guard connections[Int(connection)].generation == generation, connections[Int(connection)].inflight > 0 else { return }
        connections[Int(connection)].inflight -= 1
    }

    func closeAll() {
        for connection in connections {
            if connection.fd >= 0 { close(connection.fd) }
            if connection.upstreamFD >= 0 { close(connection.upstreamFD) }
        }
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
            let fd = withUnsafeMutablePointer(to: &client.storage) { cellos_accept(tcpListener, $0, &length, 1) }
            if fd < 0 {
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM { pauseAccepting() }
                return
            }
            guard let index = tcp.connections.firstIndex(where: { $0.fd < 0 }) else {
                // At the cap: refuse by closing rather than letting the backlog grow.
                stats.tcpConnectionsRejected += 1
                close(fd)
                continue
            }
            stats.tcpConnections += 1
            tcp.connections[index].generation &+= 1
            let generation = tcp.connections[index].generation
            tcp.connections[index] = TCPState.Connection(
                fd: fd, generation: generation, client: client, lastActivity: MonotonicClock.nanoseconds())
            tcp.open += 1
            do {
                try watch(fd, Self.clientToken(index), events: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
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
        _ = cellos_epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, tcpListener, 0, 0)
        tcp.acceptResumesAt = MonotonicClock.nanoseconds() + TCPState.acceptPauseNanoseconds
    }

    func resumeAcceptingIfDue() {
        guard tcp.acceptResumesAt != .max, tcp.acceptResumesAt <= MonotonicClock.nanoseconds() else { return }
        tcp.acceptResumesAt = .max
        // Level-triggered: a connection queued meanwhile is reported at once.
        if (try? watch(tcpListener, Token.tcpListener)) == nil { pauseAccepting() }
    }

    func serveTCPConnection(token: UInt64, events: UInt32) {
        let slot = token - Token.firstConnection
        let index = Int(slot / 2)
        guard index < tcp.connections.count, tcp.connections[index].fd >= 0 else { return }
        if slot % 2 == 1 {
            serveUpstreamTCP(index, events: events)
        } else {
            serveClientTCP(index, events: events)
        }
    }

    private func serveClientTCP(_ index: Int, events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 { flushClient(index) }
        guard tcp.connections[index].fd >= 0 else { return }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readClient(index)
        }
    }

    private func readClient(_ index: Int) {
        let generation = tcp.connections[index].generation
        while tcp.connections[index].fd >= 0 && tcp.connections[index].generation == generation {
            let count = recv(tcp.connections[index].fd, receiveBuffer.baseAddress, 16384, Int32(MSG_DONTWAIT))
            if count == 0 {
                tcp.connections[index].readClosed = true
                _ = cellos_epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, tcp.connections[index].fd, 0, 0)
                closeIfDone(index)
                return
            }
            if count < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { closeTCPConnection(Int32(index)) }
                return
            }
            tcp.connections[index].lastActivity = MonotonicClock.nanoseconds()
            tcp.connections[index].input.append(contentsOf: UnsafeRawBufferPointer(rebasing: receiveBuffer[0 ..< count]))
            processClientInput(index, generation: generation)
        }
    }

    /// Handles every complete length-prefixed message buffered on the connection.
    private func processClientInput(_ index: Int, generation: UInt32) {
        var consumed = 0
        while tcp.connections[index].fd >= 0 && tcp.connections[index].generation == generation {
            guard let message = stageLengthPrefixedMessage(tcp.connections[index].input, from: &consumed) else { break }
            handleQuery(message, from: tcp.connections[index].client, via: .tcp(connection: Int32(index), generation: generation))
        }
        if tcp.connections[index].fd >= 0 && tcp.connections[index].generation == generation && consumed > 0 {
            tcp.connections[index].input.removeFirst(consumed)
        }
    }

    func sendTCP(_ message: UnsafeRawBufferPointer, connection: Int32, generation: UInt32) {
        let index = Int(connection)
        guard tcp.connections[index].fd >= 0, tcp.connections[index].generation == generation else { return }
        guard tcp.connections[index].output.count + message.count + 2 <= TCPState.maxOutput else {
            // The client does not read its answers: it loses the connection, nobody else waits.
            closeTCPConnection(connection)
            return
        }
        tcp.connections[index].output.append(UInt8(message.count >> 8))
        tcp.connections[index].output.append(UInt8(message.count & 0xFF))
        tcp.connections[index].output.append(contentsOf: message)
        tcp.connections[index].lastActivity = MonotonicClock.nanoseconds()
        flushClient(index)
    }

    private func flushClient(_ index: Int) {
        var connection = tcp.connections[index]
        while connection.outputSent < connection.output.count {
            let sent = connection.output.withUnsafeBytes { raw in
                send(connection.fd, raw.baseAddress! + connection.outputSent, raw.count - connection.outputSent,
                     Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                closeTCPConnection(Int32(index))
                return
            }
            connection.outputSent += sent
        }
        if connection.outputSent == connection.output.count {
            connection.output.removeAll(keepingCapacity: true)
            connection.outputSent = 0
        }
        let wantsWrite = !connection.output.isEmpty
        if wantsWrite != connection.wantsWrite && !connection.readClosed {
            connection.wantsWrite = wantsWrite
            let mask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (wantsWrite ? EPOLLOUT.rawValue : 0)
            _ = cellos_epoll_ctl(epoll.rawValue, EPOLL_CTL_MOD, connection.fd, mask, Self.clientToken(index))
        }
        tcp.connections[index] = connection
        closeIfDone(index)
    }

    /// A client that closed its side is closed once its answers are out.
    private func closeIfDone(_ index: Int) {
        let connection = tcp.connections[index]
        guard connection.fd >= 0, connection.readClosed, connection.inflight == 0, connection.output.isEmpty else { return }
        closeTCPConnection(Int32(index))
    }

    func closeTCPConnection(_ connection: Int32) {
        let index = Int(connection)
        guard tcp.connections[index].fd >= 0 else { return }
        close(tcp.connections[index].fd)
        if tcp.connections[index].upstreamFD >= 0 { close(tcp.connections[index].upstreamFD) }
        let generation = tcp.connections[index].generation
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
        let now = MonotonicClock.nanoseconds()
        for index in tcp.connections.indices {
            let connection = tcp.connections[index]
            if connection.fd >= 0 && connection.inflight == 0 && connection.lastActivity + tcp.idleNanoseconds <= now {
                closeTCPConnection(Int32(index))
            }
        }
    }

    // MARK: Upstream over TCP

    /// Sends a query of client connection `connection` to the upstream over that
    /// connection's own upstream TCP connection. False when it cannot be sent.
    func forwardTCP(_ message: UnsafeRawBufferPointer, connection: Int32) -> Bool {
        let index = Int(connection)
        if tcp.connections[index].upstreamFD < 0 {
            let fd = socket(configuration.upstream.family,
                            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { return false }
            let result = configuration.upstream.withSockaddr { address, length in connect(fd, address, length) }
            guard result == 0 || errno == EINPROGRESS else {
                close(fd)
                return false
            }
            tcp.connections[index].upstreamFD = fd
            tcp.connections[index].upstreamConnected = result == 0
            tcp.connections[index].upstreamWantsWrite = true
            let mask = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue
            guard cellos_epoll_ctl(epoll.rawValue, EPOLL_CTL_ADD, fd, mask, Self.upstreamToken(index)) == 0 else {
                close(fd)
                tcp.connections[index].upstreamFD = -1
                return false
            }
        }
        guard tcp.connections[index].upstreamOutput.count + message.count + 2 <= TCPState.maxOutput else { return false }
        tcp.connections[index].upstreamOutput.append(UInt8(message.count >> 8))
        tcp.connections[index].upstreamOutput.append(UInt8(message.count & 0xFF))
        tcp.connections[index].upstreamOutput.append(contentsOf: message)
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
        guard tcp.connections[index].upstreamFD >= 0 else { return }
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readUpstream(index)
        }
    }

    private func flushUpstream(_ index: Int) {
        var connection = tcp.connections[index]
        while connection.upstreamOutputSent < connection.upstreamOutput.count {
            let sent = connection.upstreamOutput.withUnsafeBytes { raw in
                send(connection.upstreamFD, raw.baseAddress! + connection.upstreamOutputSent,
                     raw.count - connection.upstreamOutputSent, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                tcp.connections[index] = connection
                failUpstreamTCP(index)
                return
            }
            connection.upstreamOutputSent += sent
        }
        if connection.upstreamOutputSent == connection.upstreamOutput.count {
            connection.upstreamOutput.removeAll(keepingCapacity: true)
            connection.upstreamOutputSent = 0
        }
        let wantsWrite = !connection.upstreamOutput.isEmpty
        if wantsWrite != connection.upstreamWantsWrite {
            connection.upstreamWantsWrite = wantsWrite
            let mask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (wantsWrite ? EPOLLOUT.rawValue : 0)
            _ = cellos_epoll_ctl(epoll.rawValue, EPOLL_CTL_MOD, connection.upstreamFD, mask, Self.upstreamToken(index))
        }
        tcp.connections[index] = connection
    }

    private func readUpstream(_ index: Int) {
        while tcp.connections[index].upstreamFD >= 0 {
            let count = recv(tcp.connections[index].upstreamFD, receiveBuffer.baseAddress, 16384, Int32(MSG_DONTWAIT))
            if count == 0 {
                failUpstreamTCP(index)
                return
            }
            if count < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { failUpstreamTCP(index) }
                return
            }
            tcp.connections[index].upstreamInput.append(contentsOf: UnsafeRawBufferPointer(rebasing: receiveBuffer[0 ..< count]))
            var consumed = 0
            while let answer = stageLengthPrefixedMessage(tcp.connections[index].upstreamInput, from: &consumed) {
                acceptUpstreamTCPAnswer(answer, connection: index)
                guard tcp.connections[index].fd >= 0 else { return }
            }
            if consumed > 0 { tcp.connections[index].upstreamInput.removeFirst(consumed) }
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
        let fd = tcp.connections[index].upstreamFD
        guard fd >= 0 else { return }
        close(fd)
        tcp.connections[index].upstreamFD = -1
        tcp.connections[index].upstreamConnected = false
        tcp.connections[index].upstreamInput.removeAll()
        tcp.connections[index].upstreamOutput.removeAll()
        tcp.connections[index].upstreamOutputSent = 0
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

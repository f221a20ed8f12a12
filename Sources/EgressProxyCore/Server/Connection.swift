#if canImport(Glibc)
import Glibc
#endif
import DNSProxyCore
import IPCWire

/// One client connection, start to end, on its own thread: read the first
/// bytes until they name a host (within the handshake timeout and the size
/// bounds), decide, resolve the allowed name, connect to that answer, relay,
/// and write one `l7_egress_decision` line.
struct Connection {
    /// Owned by the registry's slot while the connection runs.
    let client: Int32
    let configuration: EgressConfiguration
    let registry: ConnectionRegistry
    let slot: Int

    func run(log: EventLog) {
        let started = Monotonic.nanoseconds()
        ClientSocket.setNonBlocking(client)
        let peer = ClientSocket.address(client, peer: true)
        let original = ClientSocket.originalDestination(client, family: peer?.family ?? AF_INET)
        let arrival: Arrival = original.map { .transparent(port: $0.port) } ?? .explicit
        var event = DecisionEvent(
            realtimeNanoseconds: RealtimeClock.nanoseconds(), mode: arrival, client: peer?.description ?? "unknown",
            originalDestination: original?.description, reason: .malformed)
        serve(arrival: arrival, event: &event)
        event.durationMicroseconds = (Monotonic.nanoseconds() - started) / 1000
        log.write(event)
    }

    private func serve(arrival: Arrival, event: inout DecisionEvent) {
        var buffer: [UInt8] = []
        var tunnel: Authority?
        let deadline = Monotonic.milliseconds() + Int64(configuration.handshakeTimeoutMilliseconds)
        let limits = FirstBytes.Limits(maxClientHello: configuration.maxClientHello, maxHead: configuration.maxHeadBytes)
        let readLimit = configuration.maxClientHello + ClientHelloParser.maxRecords * ClientHelloParser.recordHeaderLength
        while true {
            let inspection = buffer.withUnsafeBytes { bytes in
                tunnel.map { FirstBytes.tunnel(bytes, expected: $0, limits: limits) } ?? FirstBytes.inspect(bytes, arrival: arrival, limits: limits)
            }
            switch inspection {
            case .needMore:
                switch readMore(&buffer, deadline: deadline, limit: readLimit) {
                case .read: continue
                case .closed: return note(&event, .malformed, detail: "client_closed_early")
                case .timedOut: return note(&event, .malformed, detail: "handshake_timeout")
                }
            case .refused(let refusal):
                event.proto = refusal.proto
                event.name = refusal.name
                let reason = EgressReason(rawValue: refusal.reason) ?? .malformed
                refuse(refusal.proto, reason)
                return note(&event, reason, detail: refusal.detail)
            case .connect(let authority, let consumed):
                event.name = authority.host
                event.port = authority.port
                event.proto = .http
                let verdict = configuration.rules.decide(name: authority.host, port: authority.port ?? 443)
                guard verdict == .allowed else {
                    refuse(.http, verdict)
                    return note(&event, verdict)
                }
                guard ClientSocket.writeAll(client, Array("HTTP/1.1 200 Connection established\r\n\r\n".utf8),
                                            milliseconds: configuration.handshakeTimeoutMilliseconds) else {
                    return note(&event, .malformed, detail: "client_closed_early")
                }
                buffer.removeFirst(consumed)
                tunnel = authority
            case .reach(let name, let port, let proto, let forward):
                event.name = name
                event.port = port
                event.proto = proto
                let verdict = configuration.rules.decide(name: name, port: port)
                guard verdict == .allowed else {
                    refuse(proto, verdict)
                    return note(&event, verdict)
                }
                return reach(name: name, port: port, proto: proto, forward: forward, event: &event)
            }
        }
    }

    private func reach(name: String, port: UInt16, proto: WireProtocol, forward: [UInt8], event: inout DecisionEvent) {
        let addresses: [SocketAddress]
        do {
            addresses = try configuration.resolver.resolve(name, port: port)
        } catch {
            let reason: EgressReason = error == .timeout ? .upstreamTimeout : .upstreamUnresolved
            refuse(proto, reason)
            if case .unresolved(let why) = error { return note(&event, reason, detail: why) }
            return note(&event, reason)
        }
        var lastFailure = EgressReason.upstreamRefused
        for address in addresses.prefix(4) {
            event.upstream = address.description
            switch UpstreamConnector.connect(address, timeoutMilliseconds: configuration.connectTimeoutMilliseconds) {
            case .failure(let reason):
                lastFailure = reason
            case .success(let owned):
                // The slot owns the upstream until `release`; the relay uses its number.
                let upstream = owned.rawValue
                defer { registry.release(slot) }
                registry.attach(slot, upstream: owned)
                event.reason = .allowed
                guard ClientSocket.writeAll(upstream, forward, milliseconds: configuration.idleTimeoutMilliseconds) else {
                    return note(&event, .upstreamRefused, detail: "write_failed")
                }
                let moved = Relay.run(client: client, upstream: upstream, idleMilliseconds: configuration.idleTimeoutMilliseconds)
                event.bytesUp = forward.count + moved.up
                event.bytesDown = moved.down
                return
            }
        }
        refuse(proto, lastFailure)
        note(&event, lastFailure)
    }

    private func note(_ event: inout DecisionEvent, _ reason: EgressReason, detail: String? = nil) {
        event.reason = reason
        event.detail = detail
    }

    enum ReadOutcome { case read, closed, timedOut }

    private func readMore(_ buffer: inout [UInt8], deadline: Int64, limit: Int) -> ReadOutcome {
        while true {
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { return .timedOut }
            var poller = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(left))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return .timedOut }
            var chunk = [UInt8](repeating: 0, count: max(1, min(16_384, limit - buffer.count)))
            let count = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            guard count > 0 else { return .closed }
            buffer += chunk[..<count]
            return .read
        }
    }

    /// A TLS alert (unrecognized_name for a name the policy does not know or a
    /// hello without one, access_denied otherwise) or an HTTP error with the reason.
    private func refuse(_ proto: WireProtocol, _ reason: EgressReason) {
        let bytes: [UInt8]
        switch proto {
        case .tls:
            let description: UInt8 = reason == .deniedName || reason == .noSNI ? 112 : 49
            bytes = [21, 3, 3, 0, 2, 2, description]
        case .http:
            let status = switch reason {
            case .upstreamTimeout: "504 Gateway Timeout"
            case .upstreamRefused, .upstreamUnresolved: "502 Bad Gateway"
            case .malformed: "400 Bad Request"
            default: "403 Forbidden"
            }
            let body = "cellos-egressproxy: \(reason.rawValue)\n"
            bytes = Array("HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        }
        ClientSocket.writeAll(client, bytes, milliseconds: 1000)
    }
}

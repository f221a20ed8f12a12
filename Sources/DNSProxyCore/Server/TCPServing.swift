import CDNSProxyShim
#if canImport(Glibc)
import Glibc
#endif

/// TCP client connections (RFC 7766). Placeholder until TCP serving lands:
/// connections are accepted and closed at once.
struct TCPState {
    struct Connection {
        var fd: Int32 = -1
        var generation: UInt32 = 0
        var inflight = 0
    }

    var connections: [Connection]
    var nextDeadline: Int64 { .max }

    init(maxConnections: Int) {
        connections = Array(repeating: Connection(), count: maxConnections)
    }

    mutating func queryFinished(connection: Int32, generation: UInt32) {
        guard connections[Int(connection)].generation == generation else { return }
        connections[Int(connection)].inflight -= 1
    }

    func closeAll() {
        for connection in connections where connection.fd >= 0 { close(connection.fd) }
    }
}

extension ProxyServer {
    func acceptTCPClients() {
        guard tcpListener >= 0 else { return }
        while true {
            let fd = cellos_dns_accept(tcpListener, nil, nil)
            if fd < 0 { return }
            stats.tcpConnectionsRejected += 1
            close(fd)
        }
    }

    func serveTCPConnection(token: UInt64, events: UInt32) {}

    func closeTCPConnection(_ connection: Int32) {}

    func sendTCP(_ message: UnsafeRawBufferPointer, connection: Int32, generation: UInt32) {}

    func expireTCPConnections() {}
}

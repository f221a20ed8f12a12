#if canImport(Glibc)
import Glibc
#endif
import CShim

/// A listening `SOCK_SEQPACKET` socket, bound to a path or inherited through socket
/// activation. Every accepted connection comes with its peer's credentials.
public struct SeqpacketListener: ~Copyable {
    public let socket: OwnedFD

    /// Adopts an already listening socket (e.g. `LISTEN_FDS`).
    public init(adopting socket: consuming OwnedFD) { self.socket = socket }

    /// Binds and listens at `path` with file mode `mode`. A stale socket file left by
    /// a dead process is replaced; a path where something still accepts is refused.
    public static func bind(path: String, mode: mode_t = 0o600, backlog: Int32 = 64) throws(SystemCallError) -> SeqpacketListener {
        let address = try UnixAddress(path: path)
        let socket = try seqpacketSocket()
        // Restrict the mode before the path exists: a chmod after bind would leave a
        // window in which anyone may connect.
        let oldMask = umask(~mode & 0o777)
        defer { umask(oldMask) }
        var result = address.withSockaddr { Glibc.bind(socket.rawValue, $0, $1) }
        if result != 0 && errno == EADDRINUSE && Self.isStale(address) {
            unlink(path)
            result = address.withSockaddr { Glibc.bind(socket.rawValue, $0, $1) }
        }
        if result != 0 { throw SystemCallError("bind", context: path) }
        try systemCall("listen", context: path) { listen(socket.rawValue, backlog) }
        return SeqpacketListener(adopting: socket)
    }

    private static func isStale(_ address: UnixAddress) -> Bool {
        guard let probe = try? seqpacketSocket() else { return false }
        let result = address.withSockaddr { Glibc.connect(probe.rawValue, $0, $1) }
        return result != 0 && errno == ECONNREFUSED
    }

    /// Waits up to `timeoutMilliseconds` for a connection; nil when none arrived.
    public func accept(timeoutMilliseconds: Int) throws(SystemCallError) -> AcceptedConnection? {
        var poller = pollfd(fd: socket.rawValue, events: Int16(POLLIN), revents: 0)
        let ready = try systemCall("poll") { poll(&poller, 1, Int32(clamping: timeoutMilliseconds)) }
        return ready == 0 ? nil : try accept()
    }

    /// Accepts one connection (blocking unless the socket is non-blocking).
    public func accept() throws(SystemCallError) -> AcceptedConnection {
        let fd = try systemCall("accept4") { cellos_accept(socket.rawValue, nil, nil, 0) }
        let connection = SeqpacketConnection(adopting: OwnedFD(adopting: fd))
        let credentials = try connection.peerCredentials()
        return AcceptedConnection(connection: connection, peer: credentials)
    }
}

/// An accepted connection and who is on the other end.
public struct AcceptedConnection: ~Copyable {
    public let connection: SeqpacketConnection
    public let peer: PeerCredentials
}

import CNetnsdShim
import IPCWire

/// Which network namespace a socket belongs to: the one it was created in,
/// whoever holds it now (`ioctl(SIOCGSKNS)`).
public enum SocketNamespace {
    /// A descriptor of the socket's network namespace.
    public static func of(_ socket: borrowing OwnedFD) throws(SystemCallError) -> OwnedFD {
        OwnedFD(adopting: try systemCall("ioctl(SIOCGSKNS)", context: "fd \(socket.rawValue)") {
            cellos_netnsd_socket_namespace(socket.rawValue)
        })
    }

    /// The namespace's identity (device and inode of its nsfs file).
    public static func identity(of socket: borrowing OwnedFD) throws(SystemCallError) -> FileIdentity {
        try of(socket).identity()
    }
}

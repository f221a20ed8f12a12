#if canImport(Glibc)
import Glibc
#endif

/// A filesystem `sockaddr_un`. Paths longer than `sun_path` (107 bytes plus NUL)
/// are refused up front instead of being silently truncated by the kernel.
struct UnixAddress {
    private var storage = sockaddr_un()
    let path: String

    init(path: String) throws(SystemCallError) {
        self.path = path
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else {
            throw SystemCallError("sockaddr_un", errno: ENAMETOOLONG, context: "socket path '\(path)' must be 1-\(capacity - 1) bytes")
        }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { out in
            out.copyBytes(from: bytes)
        }
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}

func seqpacketSocket() throws(SystemCallError) -> OwnedFD {
    let fd = try systemCall("socket(AF_UNIX, SOCK_SEQPACKET)") {
        Glibc.socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }
    return OwnedFD(adopting: fd)
}

extension SeqpacketConnection {
    /// Connects to a listening IPCWire socket at `path`.
    public static func connect(path: String) throws(SystemCallError) -> SeqpacketConnection {
        let address = try UnixAddress(path: path)
        let socket = try seqpacketSocket()
        try systemCall("connect", context: path) { address.withSockaddr { Glibc.connect(socket.rawValue, $0, $1) } }
        return SeqpacketConnection(adopting: socket)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: one datagram of `KEY=VALUE` lines to the
/// AF_UNIX socket named by `NOTIFY_SOCKET` (a path, or `@name` for the abstract
/// namespace). How a `Type=notify` unit tells systemd it is ready; the suite's own
/// children use the `CELLOS_NOTIFY_FD` pipe instead (`Readiness`).
public struct SystemdNotify: Sendable {
    public static let variable = "NOTIFY_SOCKET"
    private let address: [UInt8]

    /// The notifier named by this process's environment, or nil. The variable is
    /// removed so nothing this process starts notifies on its behalf.
    public static func fromProcess() -> SystemdNotify? {
        guard let path = ProcessEnvironment.current()[variable], !path.isEmpty else { return nil }
        unsetenv(variable)
        return SystemdNotify(socketPath: path)
    }

    public init?(socketPath: String) {
        var bytes = Array(socketPath.utf8)
        guard bytes.first == UInt8(ascii: "/") || bytes.first == UInt8(ascii: "@") else { return nil }
        if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
        guard bytes.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else { return nil }
        address = bytes
    }

    /// Sends `lines` as one datagram; best effort, like sd_notify: a manager that
    /// stopped listening must not stop the daemon.
    @discardableResult
    public func send(_ lines: [String]) -> Bool {
        guard let socket = try? OwnedFD.socket(domain: AF_UNIX, type: Int32(SOCK_DGRAM.rawValue)) else { return false }
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: address) }
        // Abstract names count exactly their bytes; paths include the NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + address.count + (address.first == 0 ? 0 : 1))
        let payload = Array(lines.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                payload.withUnsafeBytes { bytes in
                    retryingOnInterrupt { sendto(socket.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length) }
                }
            }
        }
        return sent == payload.count
    }

    /// `STATUS=` text made one line, as systemd shows it.
    public static func statusLine(_ text: String) -> String {
        "STATUS=" + text.map { $0.isNewline ? " " : String($0) }.joined()
    }
}

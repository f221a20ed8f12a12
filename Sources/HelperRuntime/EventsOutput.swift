#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Where a helper's JSON lines go (`--events PATH|-`), and the one loop that
/// writes a buffer of lines to it.
public enum EventsOutput {
    /// `-` is a close-on-exec duplicate of standard output; anything else a file
    /// opened for appending, created with mode 0640 if missing. `flag` names the
    /// option in the error.
    public static func open(path: String, flag: String = "--events") throws(SystemCallError) -> OwnedFD {
        if path == "-" {
            return OwnedFD(adopting: try systemCall("fcntl(stdout, F_DUPFD_CLOEXEC)") { fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3) })
        }
        return OwnedFD(adopting: try systemCall("open", context: "\(flag) \(path)") {
            Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        })
    }

    /// Writes `bytes` to `fd` until all are out or write(2) fails or returns 0
    /// (EINTR retried). Returns how many bytes went out: fewer than `bytes.count`
    /// means the rest is lost, and the caller counts what that cost.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let count = retryingOnInterrupt { write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            guard count > 0 else { break }
            offset += count
        }
        return offset
    }
}

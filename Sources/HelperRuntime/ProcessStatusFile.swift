#if canImport(Glibc)
import Glibc
#endif

extension ProcessStatus {
    /// Reads and parses `/proc/<pid>/status`.
    public static func read(pid: Int32) throws(ProcessStatusError) -> ProcessStatus {
        try read(path: "/proc/\(pid)/status")
    }

    /// The calling process (`/proc/self/status`: its main thread's sets).
    public static func ofThisProcess() throws(ProcessStatusError) -> ProcessStatus { try read(path: "/proc/self/status") }

    /// The calling thread (`/proc/thread-self/status`): capabilities are per thread.
    public static func ofThisThread() throws(ProcessStatusError) -> ProcessStatus { try read(path: "/proc/thread-self/status") }

    /// Reads a status file of at most `maxBytes` (more is malformed) and parses it.
    public static func read(path: String) throws(ProcessStatusError) -> ProcessStatus {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= maxBytes {
            let count = chunk.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress, raw.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return try parse(String(decoding: bytes, as: UTF8.self))
    }
}

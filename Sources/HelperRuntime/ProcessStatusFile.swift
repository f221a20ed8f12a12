#if canImport(Glibc)
import Glibc
#endif
import IPCWire

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
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try OwnedFD.open(path, O_RDONLY).readAll(limit: maxBytes + 1)
        } catch {
            throw .unreadable(path: path, reason: String(cString: strerror(error.errno)))
        }
        return try parse(String(decoding: bytes, as: UTF8.self))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// How many threads this process has (entries of `/proc/self/task`). Capability
/// sets and no_new_privs are per thread, so a privilege change made with one thread
/// running is the only one that covers the whole process.
public enum ProcessThreads {
    public static func count() throws(SystemCallError) -> Int {
        guard let directory = opendir("/proc/self/task") else { throw SystemCallError("opendir", context: "/proc/self/task") }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The `WorkloadIdentities` seam on the real machine: the ids within a range
/// that some process holds as its uid or gid. One `stat(2)` of /proc/<pid>
/// per process (its owner is the process's effective uid and gid), no file
/// read: a few milliseconds for a few thousand processes.
public enum ProcessIdentityScan {
    public static func scan(_ range: WorkloadIDRange) -> Set<UInt32> {
        var found: Set<UInt32> = []
        for name in directoryEntries("/proc", directoriesOnly: true) where name.first?.isNumber == true {
            var info = stat()
            guard stat("/proc/\(name)", &info) == 0 else { continue }
            for id in [info.st_uid, info.st_gid] where range.contains(id) { found.insert(id) }
        }
        return found
    }
}

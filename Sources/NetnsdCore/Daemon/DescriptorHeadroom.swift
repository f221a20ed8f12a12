#if canImport(Glibc)
import Glibc
#endif

/// Whether the daemon has descriptors left for one more cell. Checked before
/// CreateCell changes anything, so a daemon near `RLIMIT_NOFILE` refuses cleanly
/// (`limit_exceeded`) instead of failing half way through a setup.
enum DescriptorHeadroom {
    /// What creating a cell may hold at once: the cell's own five, the four reply
    /// copies, the namespace thread's netlink and nftables sockets, an uplink's
    /// namespace and netlink sockets, and a few to spare for the workload spawn.
    static let perCell = 16

    /// Open descriptors and the soft `RLIMIT_NOFILE` when fewer than `perCell`
    /// remain; nil when there is room.
    static func shortage() -> (open: Int, limit: Int)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        let soft = Int(clamping: limit.rlim_cur)
        let open = openCount() ?? soft
        return soft - open < perCell ? (open, soft) : nil
    }

    /// Entries of /proc/self/fd, not counting the directory's own descriptor;
    /// nil when even that cannot be opened (then there is no room at all).
    static func openCount() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != 0x2E { count += 1 }  // skips "." and ".."
        }
        return count - 1
    }

    static func refusal(open: Int, limit: Int) -> String {
        "cellos-netnsd has \(open) of its \(limit) descriptors (RLIMIT_NOFILE) open and a cell needs up to \(perCell): destroy cells or raise the daemon's RLIMIT_NOFILE"
    }
}

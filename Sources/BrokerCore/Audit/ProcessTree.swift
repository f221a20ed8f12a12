#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Processes found through /proc without being told their pids: a process's
/// children (every thread's `/proc/<pid>/task/<tid>/children`), its descendants,
/// and the executable it runs (`/proc/<pid>/exe`, root-only for a
/// non-dumpable process).
public enum ProcessTree {
    public static func children(of pid: Int32) -> [Int32] {
        guard let directory = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(directory) }
        var children: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let tid = Int32(name) else { continue }
            for field in read("/proc/\(pid)/task/\(tid)/children").split(separator: " ") {
                if let child = Int32(field.trimmingSuffix()), !children.contains(child) { children.append(child) }
            }
        }
        return children.sorted()
    }

    /// `pid` and everything beneath it, parents before children.
    public static func tree(of pid: Int32, limit: Int = 4096) -> [Int32] {
        var found = [pid]
        var index = 0
        while index < found.count, found.count < limit {
            for child in children(of: found[index]) where !found.contains(child) { found.append(child) }
            index += 1
        }
        return found
    }

    /// The path `/proc/<pid>/exe` resolves to (without a " (deleted)" suffix), nil if unreadable.
    public static func executable(of pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        var path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path
    }

    public static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func read(_ path: String) -> String {
        guard let bytes = try? OwnedFD.open(path, O_RDONLY).readAll(limit: 1 << 20) else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingSuffix() -> Substring {
        var text = self
        while let last = text.last, last == "\n" || last == " " { text.removeLast() }
        return text
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The names in `directory` (without `.` and `..`), only subdirectories when
/// `directoriesOnly`; empty when it cannot be read.
func directoryEntries(_ directory: String, directoriesOnly: Bool = false) -> [String] {
    guard let stream = opendir(directory) else { return [] }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
        if directoriesOnly && entry.pointee.d_type != UInt8(DT_DIR) { continue }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

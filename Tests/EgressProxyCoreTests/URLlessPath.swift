#if canImport(Glibc)
import Glibc
#endif

/// Reading a fixture file next to the tests, without Foundation.
enum URLlessPath {
    static func directory(of file: String) -> String {
        String(file[..<(file.lastIndex(of: "/") ?? file.endIndex)])
    }

    struct Unreadable: Error { let path: String }

    static func read(_ path: String) throws -> [UInt8] {
        guard let handle = fopen(path, "rb") else { throw Unreadable(path: path) }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The process environment as a dictionary, read from `environ` (IPCWire does not
/// link Foundation: the per-cell helpers stay small and start fast).
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Readable one-line logs on standard error (`--foreground` debugging and journald).
/// One `write(2)` per line so lines from different threads do not interleave.
public enum NetnsdLog {
    public static func write(_ message: String) {
        let bytes = Array("\(NetnsdRole.executableName): \(message)\n".utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

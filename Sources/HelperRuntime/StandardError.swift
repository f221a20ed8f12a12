#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered text on standard error: the one writer behind log lines, stats lines
/// and the messages a process prints before it exits. Best effort: a closed stderr
/// must not stop the process.
public enum StandardError {
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { EventsOutput.writeAll(STDERR_FILENO, $0) }
    }

    public static func writeLine(_ text: String) { write(text + "\n") }
}

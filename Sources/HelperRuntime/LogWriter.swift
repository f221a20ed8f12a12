#if canImport(Glibc)
import Glibc
#endif
import IPCWire
import Synchronization

/// sd-daemon(3) priorities, as journald reads them from a line's `<N>` prefix.
public enum LogPriority: Int, Sendable {
    case error = 3
    case warning = 4
    case info = 6
    case debug = 7
}

/// How log lines look: `plain` is `PROGRAM: message` (a terminal, a file);
/// `journal` is `<N>message`, since journald adds the program name itself and
/// reads the priority from the prefix.
public enum LogFormat: String, Sendable, CaseIterable {
    case plain
    case journal

    /// `journal` when standard error is the stream journald gave this process:
    /// `JOURNAL_STREAM` names its device:inode (an inherited variable that names
    /// another file, e.g. after a redirect, does not count).
    public static func fromEnvironment() -> LogFormat {
        guard let stream = ProcessEnvironment.current()["JOURNAL_STREAM"] else { return .plain }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return .plain }
        return stream == "\(status.st_dev):\(status.st_ino)" ? .journal : .plain
    }
}

/// The one writer of log lines for all four executables: one `write(2)` per line
/// so lines from different threads never interleave.
public enum LogWriter {
    private static let settings = Mutex<LogFormat?>(nil)

    /// Overrides the environment's choice (`--log-format`).
    public static func setFormat(_ format: LogFormat) { settings.withLock { $0 = format } }

    public static var format: LogFormat {
        settings.withLock { format in
            if let format { return format }
            let detected = LogFormat.fromEnvironment()
            format = detected
            return detected
        }
    }

    /// The line as it is written (newline included); a multi-line message stays one
    /// record, its newlines replaced.
    public static func line(_ message: String, priority: LogPriority, program: String, format: LogFormat) -> String {
        let text = message.map { $0.isNewline ? " " : String($0) }.joined()
        switch format {
        case .plain: return "\(program): \(text)\n"
        case .journal: return "<\(priority.rawValue)>\(text)\n"
        }
    }

    public static func write(_ message: String, priority: LogPriority, program: String) {
        StandardError.write(line(message, priority: priority, program: program, format: format))
    }
}

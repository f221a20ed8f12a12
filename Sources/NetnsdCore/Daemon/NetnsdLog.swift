import HelperRuntime

/// netnsd's log lines on standard error, through the suite's one writer
/// (`LogWriter`: plain lines, or journald's `<N>` priorities under systemd).
public enum NetnsdLog {
    /// A message starting `warning: ` is logged at warning priority unless told otherwise.
    public static func write(_ message: String, priority: LogPriority? = nil) {
        let level = priority ?? (message.hasPrefix("warning: ") ? .warning : .info)
        LogWriter.write(message, priority: level, program: NetnsdRole.executableName)
    }
}

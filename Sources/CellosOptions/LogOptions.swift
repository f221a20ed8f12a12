import ArgumentParser
import HelperRuntime

extension LogFormat: ExpressibleByArgument {}

/// `--log-format`, shared by the four executables: their log lines go through
/// `LogWriter`, which picks the format from `JOURNAL_STREAM` unless told.
public struct LogOptions: ParsableArguments {
    @Option(name: .customLong("log-format"), help: ArgumentHelp("Log lines as plain 'PROGRAM: message' or journal '<N>message' (sd-daemon priority, no program name). Default: journal when JOURNAL_STREAM names standard error (systemd), else plain.", valueName: "plain|journal"))
    public var format: LogFormat?

    public init() {}

    /// Makes the choice before anything logs.
    public func apply() {
        if let format { LogWriter.setFormat(format) }
    }
}

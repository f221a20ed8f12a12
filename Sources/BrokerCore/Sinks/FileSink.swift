#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// `file:PATH` (`--events PATH`): appends each line to PATH (created 0600), or to
/// standard output for `-`. A write either completes or throws; nothing to confirm.
public final class FileSink: EventSink {
    public let label: String
    private let fd: Int32
    /// Nil for standard output, which is not ours to close.
    private let owned: OwnedFD?

    public init(path: String) throws(SystemCallError) {
        label = "file:\(path)"
        if path == "-" {
            owned = nil
            fd = 1
        } else {
            let opened = OwnedFD(adopting: try systemCall("open", context: path) { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) })
            fd = opened.rawValue
            owned = consume opened
        }
    }

    public func send(_ record: SinkRecord) throws(SinkError) {
        do { try FileOutput.writeAll(fd: fd, bytes: record.line + [0x0A], context: label) } catch { throw .unavailable(sink: label, reason: "\(error)") }
    }

    public func settle(until deadline: Int64) throws(SinkError) -> Int { 0 }
    public func abandon() -> [SinkRecord] { [] }
}

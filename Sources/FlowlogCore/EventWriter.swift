#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// Buffers JSON lines and writes them to the events file (or stdout) in large
/// writes. A failed write drops the lines it did not get out, and says how many.
public struct EventWriter: ~Copyable {
    private let fd: OwnedFD
    private var pending: [UInt8] = []
    private var pendingLines = 0
    /// Above this many buffered bytes, `append` flushes by itself.
    public static let flushThreshold = 256 << 10

    public init(fd: consuming OwnedFD) {
        self.fd = fd
        pending.reserveCapacity(Self.flushThreshold + 4096)
    }

    /// `-` is standard output; anything else a file opened for appending
    /// (created with mode 0640 if missing).
    public static func open(path: String) throws(SystemCallError) -> EventWriter {
        EventWriter(fd: try EventsOutput.open(path: path))
    }

    /// Queues one line (a newline is added). Returns what a threshold flush wrote
    /// and dropped, if one happened.
    public mutating func append(_ line: String) -> (written: Int, dropped: Int) {
        append(bytes: Array(line.utf8))
    }

    public mutating func append(_ line: JSONLine) -> (written: Int, dropped: Int) {
        append(bytes: line.objectBytes)
    }

    mutating func append(bytes line: [UInt8]) -> (written: Int, dropped: Int) {
        pending.append(contentsOf: line)
        pending.append(UInt8(ascii: "\n"))
        pendingLines += 1
        return pending.count >= Self.flushThreshold ? flush() : (0, 0)
    }

    /// Writes everything queued: how many lines went out and how many were lost.
    @discardableResult
    public mutating func flush() -> (written: Int, dropped: Int) {
        let offset = pending.withUnsafeBytes { EventsOutput.writeAll(fd.rawValue, $0) }
        let dropped = offset == pending.count ? 0 : pending[offset...].reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        let result = (written: pendingLines - dropped, dropped: dropped)
        pending.removeAll(keepingCapacity: true)
        pendingLines = 0
        return result
    }
}

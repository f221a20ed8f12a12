#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// A remote sink's bounded on-disk queue: `<dir>/<key>.spool`, the event lines not
/// confirmed by the sink, oldest first, and `<key>.lock`, whose `flock` serializes
/// every broker (and `flush`) using the same sink, so entries are appended and
/// replayed in order. `<key>` is the first 16 hex digits of SHA-256 over the sink's
/// label. Files are 0600 in a directory the broker's user can write.
public struct Spool: Sendable {
    public let directory: String
    public let label: String
    public let maxBytes: Int
    let dataPath: String
    let lockPath: String

    public init(directory: String, label: String, maxBytes: Int) {
        self.directory = directory
        self.label = label
        self.maxBytes = maxBytes
        let key = String(Hex.encode(SHA256.hash(data: Array(label.utf8))).prefix(16))
        dataPath = "\(directory)/\(key).spool"
        lockPath = "\(directory)/\(key).lock"
    }

    /// Whether the spool directory is usable, checked once before a run starts.
    public func check() throws(SinkError) {
        do { try locked { () throws(SystemCallError) in } } catch { throw .invalid(sink: label, problem: "spool \(directory): \(error)") }
    }

    /// Bytes queued now (0 when there is no spool file).
    public var size: Int {
        var st = stat()
        return stat(dataPath, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Appends records while they fit under `maxBytes`; returns how many did not.
    public func append(_ records: [SinkRecord]) throws(SystemCallError) -> Int {
        guard !records.isEmpty else { return 0 }
        return try locked { () throws(SystemCallError) -> Int in
            let fd = OwnedFD(adopting: try systemCall("open", context: dataPath) { open(dataPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) })
            var st = stat()
            try systemCall("fstat", context: dataPath) { fstat(fd.rawValue, &st) }
            var used = Int(st.st_size)
            var out: [UInt8] = []
            var dropped = 0
            for record in records {
                // Once one record is dropped, later ones are too: the spool keeps a prefix, never a gap.
                guard dropped == 0, used + record.line.count + 1 <= maxBytes else {
                    dropped += 1
                    continue
                }
                out += record.line + [0x0A]
                used += record.line.count + 1
            }
            try FileOutput.writeAll(fd: fd.rawValue, bytes: out, context: dataPath)
            return dropped
        }
    }

    /// Hands the queued records (oldest first) to `deliver`, which returns how many
    /// from the front are delivered; those leave the spool. Under the lock throughout.
    public func drain(_ deliver: ([SinkRecord]) -> Int) throws(SystemCallError) -> (delivered: Int, left: Int) {
        try locked { () throws(SystemCallError) -> (Int, Int) in
            let bytes: [UInt8]
            do { bytes = try FileInput.read(path: dataPath, maxBytes: max(maxBytes, 1) * 2) } catch {
                if errno == ENOENT { return (0, 0) }
                throw SystemCallError("read", context: dataPath)
            }
            // A line that is not an event (a torn write) is skipped, not replayed.
            let records = bytes.split(separator: 0x0A).compactMap { SinkRecord(line: Array($0)) }
            let delivered = min(records.count, max(0, deliver(records)))
            var rest: [UInt8] = []
            for record in records[delivered...] { rest += record.line + [0x0A] }
            if rest.isEmpty {
                unlink(dataPath)
            } else if delivered > 0 {
                let temporary = dataPath + ".new"
                let fd = OwnedFD(adopting: try systemCall("open", context: temporary) { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) })
                try FileOutput.writeAll(fd: fd.rawValue, bytes: rest, context: temporary)
                try systemCall("fsync", context: temporary) { fsync(fd.rawValue) }
                try systemCall("rename", context: dataPath) { rename(temporary, dataPath) }
            }
            return (delivered, records.count - delivered)
        }
    }

    private func locked<R>(_ body: () throws(SystemCallError) -> R) throws(SystemCallError) -> R {
        let lock = OwnedFD(adopting: try systemCall("open", context: lockPath) { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) })
        try systemCall("flock", context: lockPath) { flock(lock.rawValue, LOCK_EX) }
        // Closing the descriptor (when `lock` dies) releases the lock.
        return try body()
    }
}

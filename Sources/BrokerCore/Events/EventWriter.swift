#if canImport(Glibc)
import Glibc
#endif
import IPCWire
import Synchronization

/// Writes events as JSON lines to `--events PATH|-`, signing each when a signer is
/// given. Safe to call from several threads (one lock around the write, so lines
/// never interleave); each line goes out in as few `write` calls as the kernel allows.
public final class EventWriter: Sendable {
    private let fd: Int32
    /// Nil for standard output, which is not ours to close.
    private let owned: OwnedFD?
    private let signer: EventSigner?
    private let lock = Mutex(0)

    /// `-` writes to standard output; a path is created (0600) or appended to.
    public init(destination: String, signer: EventSigner? = nil) throws(SystemCallError) {
        if destination == "-" {
            owned = nil
            fd = 1
        } else {
            let opened = OwnedFD(adopting: try systemCall("open", context: destination) { open(destination, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600) })
            fd = opened.rawValue
            owned = consume opened
        }
        self.signer = signer
    }

    /// Signs (when configured) and writes one event; returns the event as written.
    @discardableResult
    public func write(_ event: CloudEvent) throws -> CloudEvent {
        let final = try signer?.sign(event) ?? event
        let bytes = Array((final.line + "\n").utf8)
        try lock.withLock { written in
            try FileOutput.writeAll(fd: fd, bytes: bytes, context: "event stream")
            written += 1
        }
        return final
    }

    /// Events written so far.
    public var count: Int { lock.withLock { $0 } }
}

enum FileOutput {
    /// write(2) until every byte is out (pipes and signals may cut a write short).
    static func writeAll(fd: Int32, bytes: [UInt8], context: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let count = try systemCall("write", context: context) {
                bytes.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset) }
            }
            offset += count
        }
    }
}

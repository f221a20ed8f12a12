#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Where a helper writes its event lines: a FIFO in a fresh private directory
/// (mkdtemp, 0700), passed to the helper as an ordinary `--events PATH`.
///
/// Why a FIFO and not an inherited pipe: `cellos_spawn` closes every descriptor
/// above the ones it passes, and a helper adopts all socket-activation
/// descriptors and closes those it does not take, so a pipe passed as
/// `/dev/fd/N` would be gone before the helper opens its events path. A path
/// needs nothing from the helper beyond `--events`, and its stdout stays the user's.
///
/// The broker holds a write end of its own, so the read end never sees EOF or
/// POLLHUP while the helper has not opened (or has closed) the FIFO; after the
/// helper is reaped, `closeWriteEnd()` lets the final drain reach EOF.
final class EventFIFO {
    let directory: String
    let path: String
    private let reader: OwnedFD
    /// The broker's own write end; nil once closed.
    private var writer: OwnedFD?

    var readEnd: Int32 { reader.rawValue }

    init() throws(SystemCallError) {
        var template = Array("/tmp/cellos-broker-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw SystemCallError("mkdtemp", context: "/tmp/cellos-broker-XXXXXX") }
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let path = directory + "/events"
        // mkfifo, then the read end (non-blocking, so it opens without a writer), then
        // our write end; a failure undoes what exists (the OwnedFDs close themselves).
        do {
            try systemCall("mkfifo", context: path) { mkfifo(path, 0o600) }
            reader = OwnedFD(adopting: try systemCall("open(fifo, O_RDONLY)", context: path) { Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) })
            writer = OwnedFD(adopting: try systemCall("open(fifo, O_WRONLY)", context: path) { Glibc.open(path, O_WRONLY | O_CLOEXEC) })
        } catch {
            unlink(path)
            rmdir(directory)
            throw error
        }
        self.directory = directory
        self.path = path
    }

    func closeWriteEnd() {
        writer = nil
    }

    deinit {
        unlink(path)
        // A helper may have left files here ({dir}, e.g. a control socket).
        Self.removeEntries(of: directory)
        rmdir(directory)
    }

    /// Unlinks the plain entries of `directory` (not recursive: helpers get one level).
    private static func removeEntries(of directory: String) {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { unlink(directory + "/" + name) }
        }
    }
}

/// Splits a byte stream into lines, bounding each: a line longer than `maxLine`
/// is delivered cut at `maxLine` bytes and the rest up to its newline dropped.
struct LineSplitter {
    let maxLine: Int
    private var pending: [UInt8] = []
    private var discarding = false

    init(maxLine: Int) { self.maxLine = maxLine }

    mutating func append(_ bytes: ArraySlice<UInt8>) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if !discarding && !pending.isEmpty { lines.append(pending) }
                pending.removeAll(keepingCapacity: true)
                discarding = false
            } else if !discarding {
                pending.append(byte)
                if pending.count >= maxLine {
                    lines.append(pending)
                    pending.removeAll(keepingCapacity: true)
                    discarding = true
                }
            }
        }
        return lines
    }

    /// A last line without a newline, at EOF.
    mutating func finish() -> [[UInt8]] {
        defer { pending.removeAll() }
        return discarding || pending.isEmpty ? [] : [pending]
    }
}

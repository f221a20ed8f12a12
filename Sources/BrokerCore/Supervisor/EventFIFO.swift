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
    let readEnd: Int32
    /// The broker's own write end; -1 once closed.
    private var writeEnd: Int32

    init() throws(SystemCallError) {
        var template = Array("/tmp/cellos-broker-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw SystemCallError("mkdtemp", context: "/tmp/cellos-broker-XXXXXX") }
        let directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let path = directory + "/events"
        let ends = try Self.open(path: path, directory: directory)
        self.directory = directory
        self.path = path
        readEnd = ends.read
        writeEnd = ends.write
    }

    /// mkfifo, then the read end (non-blocking, so it opens without a writer), then
    /// our write end; undoes everything on failure.
    private static func open(path: String, directory: String) throws(SystemCallError) -> (read: Int32, write: Int32) {
        var reader: Int32 = -1
        do {
            try systemCall("mkfifo", context: path) { mkfifo(path, 0o600) }
            reader = try systemCall("open(fifo, O_RDONLY)", context: path) { Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
            let writer = try systemCall("open(fifo, O_WRONLY)", context: path) { Glibc.open(path, O_WRONLY | O_CLOEXEC) }
            return (reader, writer)
        } catch {
            if reader >= 0 { close(reader) }
            unlink(path)
            rmdir(directory)
            throw error
        }
    }

    func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    deinit {
        close(readEnd)
        if writeEnd >= 0 { close(writeEnd) }
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

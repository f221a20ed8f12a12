#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Named system calls on an owned descriptor, after swift-system's `FileOperations.swift`:
/// each names its C call, turns -1 into a `SystemCallError`, and retries EINTR unless
/// `retryOnInterrupt: false` asks to see it (a caller that wakes on a signal).
extension OwnedFD {
    /// `open(2)` with `O_CLOEXEC` added.
    public static func open(
        _ path: String, _ flags: Int32, mode: mode_t = 0, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> OwnedFD {
        let raw = try systemCall("open", context: path, retryOnInterrupt: retryOnInterrupt) {
            Glibc.open(path, flags | O_CLOEXEC, mode)
        }
        return OwnedFD(adopting: raw)
    }

    /// `openat(2)` relative to this directory descriptor, with `O_CLOEXEC` added.
    public borrowing func openAt(
        _ path: String, _ flags: Int32, mode: mode_t = 0, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> OwnedFD {
        let raw = try systemCall("openat", context: path, retryOnInterrupt: retryOnInterrupt) {
            Glibc.openat(rawValue, path, flags | O_CLOEXEC, mode)
        }
        return OwnedFD(adopting: raw)
    }

    /// `socket(2)` with `SOCK_CLOEXEC` added to `type`.
    public static func socket(domain: Int32, type: Int32, protocol: Int32 = 0) throws(SystemCallError) -> OwnedFD {
        let raw = try systemCall("socket") { Glibc.socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), `protocol`) }
        return OwnedFD(adopting: raw)
    }

    /// `read(2)` once into `buffer`: the byte count, 0 at end of file.
    public borrowing func read(
        into buffer: UnsafeMutableRawBufferPointer, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> Int {
        try systemCall("read", context: "fd \(rawValue)", retryOnInterrupt: retryOnInterrupt) {
            Glibc.read(rawValue, buffer.baseAddress, buffer.count)
        }
    }

    /// `read(2)` until end of file or until `limit` bytes are in (the reader bounds
    /// what an untrusted file can make it hold: a caller that refuses longer files
    /// passes one more than it accepts and checks the count).
    public borrowing func readAll(limit: Int) throws(SystemCallError) -> [UInt8] {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        var bytes: [UInt8] = []
        while bytes.count < limit {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0 ..< min(chunk.count, limit - bytes.count)]))
            if count == 0 { break }
            bytes += UnsafeRawBufferPointer(rebasing: chunk[0 ..< count])
        }
        return bytes
    }

    /// `write(2)` once: the byte count, possibly short.
    public borrowing func write(
        _ bytes: UnsafeRawBufferPointer, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> Int {
        try systemCall("write", context: "fd \(rawValue)", retryOnInterrupt: retryOnInterrupt) {
            Glibc.write(rawValue, bytes.baseAddress, bytes.count)
        }
    }

    /// `write(2)` until every byte went out.
    public borrowing func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            offset += try write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    /// `recv(2)` once: the byte count, 0 when the peer closed its side.
    public borrowing func receive(
        into buffer: UnsafeMutableRawBufferPointer, flags: Int32 = 0, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> Int {
        try systemCall("recv", context: "fd \(rawValue)", retryOnInterrupt: retryOnInterrupt) {
            Glibc.recv(rawValue, buffer.baseAddress, buffer.count, flags)
        }
    }

    /// `send(2)` once with `MSG_NOSIGNAL` added: the byte count, possibly short.
    public borrowing func send(
        _ bytes: UnsafeRawBufferPointer, flags: Int32 = 0, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> Int {
        try systemCall("send", context: "fd \(rawValue)", retryOnInterrupt: retryOnInterrupt) {
            Glibc.send(rawValue, bytes.baseAddress, bytes.count, flags | Int32(MSG_NOSIGNAL))
        }
    }

    /// `poll(2)` on this descriptor alone: the returned events, 0 on timeout. With
    /// `retryOnInterrupt` an interrupted wait resumes with what is left of the timeout.
    public borrowing func poll(
        events: Int16 = Int16(POLLIN), timeoutMilliseconds: Int, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> Int16 {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        var poller = pollfd(fd: rawValue, events: events, revents: 0)
        while true {
            let left = timeoutMilliseconds < 0 ? -1 : Int32(clamping: max(0, deadline - Monotonic.milliseconds()))
            let ready = Glibc.poll(&poller, 1, left)
            if ready > 0 { return poller.revents }
            if ready == 0 { return 0 }
            let error = SystemCallError("poll", context: "fd \(rawValue)")
            if !(retryOnInterrupt && error.isInterruption) { throw error }
        }
    }

    /// `connect(2)`; a non-blocking socket's `EINPROGRESS` is reported as false
    /// (connection under way), success as true.
    public borrowing func connect(
        _ address: UnsafePointer<sockaddr>, length: socklen_t
    ) throws(SystemCallError) -> Bool {
        if Glibc.connect(rawValue, address, length) == 0 { return true }
        if errno == EINPROGRESS { return false }
        throw SystemCallError("connect", context: "fd \(rawValue)")
    }

    /// `flock(2)`.
    public borrowing func lock(_ operation: Int32) throws(SystemCallError) {
        try systemCall("flock", context: "fd \(rawValue)") { flock(rawValue, operation) }
    }

    /// `fcntl(F_SETFL)` adding `O_NONBLOCK` (shared with every other descriptor for
    /// the same open file description).
    public borrowing func setNonBlocking() throws(SystemCallError) {
        let flags = try systemCall("fcntl(F_GETFL)", context: "fd \(rawValue)") { fcntl(rawValue, F_GETFL) }
        try systemCall("fcntl(F_SETFL)", context: "fd \(rawValue)") { fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }
}

/// The two ends of a `pipe2(O_CLOEXEC)`.
public struct OwnedPipe: ~Copyable {
    public var readEnd: OwnedFD?
    public var writeEnd: OwnedFD?

    public init() throws(SystemCallError) {
        var fds: [Int32] = [-1, -1]
        try systemCall("pipe2") { cellos_pipe_cloexec(&fds) }
        readEnd = OwnedFD(adopting: fds[0])
        writeEnd = OwnedFD(adopting: fds[1])
    }
}

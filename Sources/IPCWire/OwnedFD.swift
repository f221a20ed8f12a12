#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor this value owns: closed when the value dies unless it was
/// consumed by `release()` (or moved into a `DescriptorSet`). Being `~Copyable`,
/// two owners of one descriptor cannot be written by accident.
public struct OwnedFD: ~Copyable, Sendable {
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, which must be an open descriptor.
    public init(adopting rawValue: Int32) {
        precondition(rawValue >= 0, "OwnedFD adopting invalid descriptor \(rawValue)")
        self.rawValue = rawValue
    }

    /// Gives up ownership without closing: the caller now owns the raw descriptor.
    public consuming func release() -> Int32 {
        let raw = rawValue
        discard self
        return raw
    }

    /// Closes now. close(2) on Linux releases the descriptor even when it reports
    /// EINTR, so the error is only informative and the descriptor is gone either way.
    public consuming func close() {
        _ = Glibc.close(release())
    }

    deinit {
        _ = Glibc.close(rawValue)
    }

    /// A second owned descriptor for the same open file description (`F_DUPFD_CLOEXEC`).
    public borrowing func duplicate() throws(SystemCallError) -> OwnedFD {
        let raw = try systemCall("fcntl(F_DUPFD_CLOEXEC)") { fcntl(rawValue, F_DUPFD_CLOEXEC, 0) }
        return OwnedFD(adopting: raw)
    }

    /// Device and inode of what the descriptor refers to (`fstat`), e.g. to tell
    /// whether two descriptors name the same namespace or socket.
    public borrowing func identity() throws(SystemCallError) -> FileIdentity {
        var st = stat()
        try systemCall("fstat", context: "fd \(rawValue)") { fstat(rawValue, &st) }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), mode: UInt32(st.st_mode))
    }

    /// Whether `FD_CLOEXEC` is set.
    public borrowing func isCloseOnExec() throws(SystemCallError) -> Bool {
        let flags = try systemCall("fcntl(F_GETFD)") { fcntl(rawValue, F_GETFD) }
        return flags & FD_CLOEXEC != 0
    }
}

/// What `fstat` says identifies a file: device and inode (plus its type bits).
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public let mode: UInt32

    public init(device: UInt64, inode: UInt64, mode: UInt32) {
        self.device = device
        self.inode = inode
        self.mode = mode
    }

    public var description: String { "dev \(device) ino \(inode)" }
    public var isSocket: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFSOCK) }
}

extension Optional where Wrapped == OwnedFD {
    /// The raw descriptor of an owner that may be absent, borrowed (optional
    /// chaining would consume it).
    public var borrowedRawValue: Int32? {
        borrowing get {
            switch self {
            case .some(let fd): fd.rawValue
            case .none: nil
            }
        }
    }
}

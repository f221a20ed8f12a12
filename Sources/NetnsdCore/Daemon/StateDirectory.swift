#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The daemon's state directory (`--state-dir`): an exclusive `flock` on its
/// `lock` file for as long as the daemon lives, and the ledger of the pins it
/// made (`pins/<name>`), so a restarted daemon sweeps what its predecessor on
/// this directory left and nothing another daemon made. The lock is what makes
/// the sweep safe: a second daemon refuses to start instead of sweeping under a
/// live one. The kernel drops the lock when the holder dies, SIGKILL included.
public final class StateDirectory: Sendable {
    public static let defaultPath = "/run/cellos-netnsd"

    public let path: String
    /// Held open (close-on-exec) until the process ends; closing it would release the lock.
    private let lockFD: OwnedFD

    public var lockPath: String { "\(path)/lock" }
    /// One empty file per pin this daemon made (`NamespacePin`).
    public var pinLedger: String { "\(path)/pins" }

    private init(path: String, lockFD: consuming OwnedFD) {
        self.path = path
        self.lockFD = lockFD
    }

    /// Makes the directory (mode 0755) if needed and takes its lock, writing this
    /// process's pid into the lock file for the error a second daemon reports.
    public static func acquire(_ path: String) throws(StateDirectoryError) -> StateDirectory {
        for directory in [path, "\(path)/pins"] where mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw .system(SystemCallError("mkdir", context: directory))
        }
        let lockPath = "\(path)/lock"
        let fd = try openLock(lockPath)
        try lock(fd, path: path, lockPath: lockPath)
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd.rawValue, 0)
        _ = text.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress, $0.count, 0) }
        return StateDirectory(path: path, lockFD: fd)
    }

    private static func openLock(_ lockPath: String) throws(StateDirectoryError) -> OwnedFD {
        do { return try OwnedFD.open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o644) } catch { throw .system(error) }
    }

    private static func lock(_ fd: borrowing OwnedFD, path: String, lockPath: String) throws(StateDirectoryError) {
        do { try fd.lock(LOCK_EX | LOCK_NB) } catch {
            if error.wouldBlock { throw .held(path: path, holder: readPID(fd.rawValue)) }
            throw .system(SystemCallError("flock", errno: error.errno, context: lockPath))
        }
    }

    private static func readPID(_ fd: Int32) -> pid_t? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return pid_t(String(decoding: buffer[..<count], as: UTF8.self).trimmingTrailingNewlines())
    }
}

public enum StateDirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another live daemon holds the lock; `holder` is the pid it wrote, if readable.
    case held(path: String, holder: pid_t?)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .held(let path, let holder):
            "--state-dir \(path): \(holder.map { "another cellos-netnsd (pid \($0))" } ?? "another cellos-netnsd") holds \(path)/lock; "
                + "refusing to start (and to sweep its cells) while it runs"
        case .system(let error): "--state-dir: \(error)"
        }
    }
}

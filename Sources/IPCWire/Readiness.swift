#if canImport(Glibc)
import Glibc
#endif
import CShim

/// The suite's readiness convention, sd_notify-style over an inherited pipe:
///
/// - the parent passes the write end as the descriptor right after the
///   socket-activated ones and names it in `CELLOS_NOTIFY_FD`;
/// - the helper writes newline-terminated `KEY=VALUE` lines: `STATUS=…` any number of
///   times, then `READY=1` once it serves every socket it was given (or exits);
/// - EOF before `READY=1` means the helper failed during setup; its last `STATUS=`
///   line says why.
///
/// A pipe rather than systemd's `NOTIFY_SOCKET` datagram socket: no path to create,
/// nothing another process can connect to, and EOF reports a helper's death.
public enum Readiness {
    public static let variable = "CELLOS_NOTIFY_FD"

    /// The helper's side, or nil when it was not started with a notify descriptor.
    public static func notifierFromProcess() throws(ActivationError) -> ReadinessNotifier? {
        guard let raw = ProcessEnvironment.current()[variable] else { return nil }
        unsetenv(variable)
        guard let fd = Int32(raw), fd > 2 else { throw .invalidListenFDs("\(variable)=\(raw)") }
        let flags = fcntl(fd, F_GETFD)
        guard flags >= 0 else { throw .descriptorNotOpen(fd) }
        _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC)
        return ReadinessNotifier(fd: OwnedFD(adopting: fd))
    }
}

/// Writes readiness lines to the parent.
public struct ReadinessNotifier: ~Copyable {
    private let fd: OwnedFD

    public init(fd: consuming OwnedFD) { self.fd = fd }

    /// A `STATUS=` line (newlines in `text` are replaced so a line stays a line).
    public func status(_ text: String) {
        write("STATUS=" + text.map { $0.isNewline ? " " : String($0) }.joined())
    }

    /// `READY=1`, after which the pipe is closed.
    public consuming func ready() {
        write("READY=1")
    }

    private func write(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        // Best effort: a parent that stopped listening must not kill the helper.
        _ = bytes.withUnsafeBytes { raw in try? fd.write(raw) }
    }
}

/// A pipe whose write end goes to a child.
struct ReadinessPipe: ~Copyable {
    let readEnd: OwnedFD
    let writeEnd: OwnedFD

    init() throws(SystemCallError) {
        var fds: [Int32] = [-1, -1]
        try systemCall("pipe2") { cellos_pipe_cloexec(&fds) }
        readEnd = OwnedFD(adopting: fds[0])
        writeEnd = OwnedFD(adopting: fds[1])
    }

    /// Closes the parent's write end once the child holds its own copy, so that the
    /// child's death before `READY=1` shows up as EOF; returns the read end.
    consuming func closeWriteEnd() -> OwnedFD {
        let readEnd = self.readEnd
        writeEnd.close()
        return readEnd
    }
}

/// The parent's side: waits for `READY=1`, EOF or a deadline.
public struct ReadinessWaiter: ~Copyable {
    private let readEnd: OwnedFD
    public let pid: pid_t
    public private(set) var statusLines: [String] = []
    private var pending: [UInt8] = []

    init(readEnd: consuming OwnedFD, pid: pid_t) {
        self.readEnd = readEnd
        self.pid = pid
    }

    /// Blocks until the helper reports ready, closes the pipe without doing so, or
    /// `timeoutMilliseconds` pass.
    public mutating func wait(timeoutMilliseconds: Int) throws(ReadinessError) {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while true {
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { throw .timedOut(pid: pid, lastStatus: statusLines.last) }
            let ready: Int16
            do { ready = try readEnd.poll(timeoutMilliseconds: Int(left)) } catch { throw .system(error) }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 512)
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { raw in Result { () throws(SystemCallError) in try readEnd.read(into: raw) } }.get()
            } catch {
                throw .system(SystemCallError("read(readiness pipe)", errno: error.errno))
            }
            if count == 0 { throw .closedBeforeReady(pid: pid, lastStatus: statusLines.last) }
            pending.append(contentsOf: chunk[0..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line == "READY=1" { return }
                if line.hasPrefix("STATUS=") { statusLines.append(String(line.dropFirst("STATUS=".count))) }
            }
            guard pending.count <= 4096 else { throw .protocolViolation(pid: pid, reason: "line longer than 4096 bytes") }
        }
    }
}

public enum ReadinessError: Error, Equatable, Sendable, CustomStringConvertible {
    case timedOut(pid: pid_t, lastStatus: String?)
    case closedBeforeReady(pid: pid_t, lastStatus: String?)
    case protocolViolation(pid: pid_t, reason: String)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .timedOut(let pid, let status): "process \(pid) did not report ready in time\(Self.suffix(status))"
        case .closedBeforeReady(let pid, let status): "process \(pid) exited or closed its notify pipe before ready\(Self.suffix(status))"
        case .protocolViolation(let pid, let reason): "process \(pid) broke the readiness protocol: \(reason)"
        case .system(let error): error.description
        }
    }

    private static func suffix(_ status: String?) -> String { status.map { " (last status: \($0))" } ?? "" }
}

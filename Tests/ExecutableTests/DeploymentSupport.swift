import CellosTestLab
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bound AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Every datagram that arrives until `READY=1` or the deadline.
    func receive(timeoutMilliseconds: Int32) -> [String] {
        var messages: [String] = []
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        while Date() < deadline, !messages.contains(where: { $0.split(separator: "\n").contains("READY=1") }) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { messages.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
        }
        return messages
    }
}

/// A group the test made because it was missing; `remove()` deletes it again.
struct TemporaryGroup {
    let name: String

    /// Nil when the group already exists (then nothing is removed afterwards).
    static func ensure(_ name: String) throws -> TemporaryGroup? {
        if try Shell.run(["getent", "group", name]).succeeded { return nil }
        try Shell.check(["groupadd", "--system", name])
        return TemporaryGroup(name: name)
    }

    func remove() { _ = try? Shell.run(["groupdel", name]) }
}

/// A fresh directory under /tmp, world-traversable so a dropped peer reaches its socket.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cellos-deploy-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A background command started with posix_spawnp and reaped by its own waitpid:
/// Foundation's Process monitor blocks in wait4 on a long-running child and then
/// reaps no other (seen with systemd-socket-activate), so the long-running one
/// stays outside it.
final class SpawnedCommand {
    let pid: pid_t
    private var reaped: Int32?

    init(_ arguments: [String]) throws {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let result = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        self.pid = pid
    }

    /// SIGTERM, then the exit status (128+N for signal N).
    @discardableResult
    func stop() -> Int32 {
        if reaped == nil { kill(pid, SIGTERM) }
        return wait()
    }

    /// The exit status once the command ends by itself.
    func wait() -> Int32 {
        if let reaped { return reaped }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        reaped = code
        return code
    }

    deinit { stop() }
}

import CellosTestLab
import Foundation
import IPCWire

/// Runs the built `cellos-flowlog` for tests: where it is, how to start it with an
/// inherited socket, how to stop it and read its events.
enum FlowlogExecutable {
    /// The built executable (see `BuiltProducts`).
    static var path: String {
        BuiltProducts.directory.appendingPathComponent("cellos-flowlog").path
    }

    /// setpriv arguments that turn root into nobody with no capabilities at all.
    static let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]

    /// Waits for `pid` to exit (SIGKILL after `timeoutMilliseconds`) and returns its wait status.
    static func wait(_ pid: pid_t, timeoutMilliseconds: Int64 = 5000) -> Int32 {
        let deadline = Monotonic.milliseconds() + timeoutMilliseconds
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Monotonic.milliseconds() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return -1
            }
            usleep(10_000)
        }
        return status
    }

    static func exitCode(_ status: Int32) -> Int32? { status & 0x7F == 0 ? (status >> 8) & 0xFF : nil }

    /// A world-writable scratch directory (the listener may run as nobody).
    static func scratchDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flowlog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        return directory
    }

    /// The JSON objects in an events file.
    static func lines(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Polls an events file until `done` holds for its lines or 5 seconds pass.
    static func waitForLines(_ path: String, until done: ([[String: Any]]) -> Bool) -> [[String: Any]] {
        let deadline = Monotonic.milliseconds() + 5000
        var current = lines(path)
        while !done(current), Monotonic.milliseconds() < deadline {
            usleep(20_000)
            current = lines(path)
        }
        return current
    }
}

extension Array where Element == [String: Any] {
    func ofType(_ type: String) -> [[String: Any]] { filter { $0["type"] as? String == type } }
}

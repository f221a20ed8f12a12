import Foundation

/// Whether processes still run, as /proc shows them: for tests that kill a
/// daemon and check what died with it.
public enum ProcessState {
    /// In /proc and not a zombie (a killed process stays a zombie until its
    /// parent, or init after a reparent, reaps it).
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")"),
            let state = stat[stat.index(after: close)...].split(separator: " ").first else { return false }
        return state != "Z" && state != "X"
    }

    /// The direct children of `pid` (all its threads'), from /proc/<pid>/task/*/children.
    public static func children(of pid: pid_t) -> [pid_t] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
        }
    }

    /// Polls `condition` every 10 ms for up to `milliseconds`; whether it held.
    public static func within(_ milliseconds: Int, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while !condition() {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }
}

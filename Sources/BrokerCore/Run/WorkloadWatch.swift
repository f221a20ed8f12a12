#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// The workload's host pid (`WorkloadSpawned.pid`) as a pidfd, so the broker can
/// say what became of the workload when netnsd is lost instead of assuming it.
/// Opened right after the reply: the workload is netnsd's child then, so until
/// netnsd reaps it the pid cannot name another process. pidfd_open needs no
/// privilege, and polling works across uids. Assumes the broker and netnsd share
/// a PID namespace (both are host processes).
final class WorkloadWatch {
    enum Fate: Equatable {
        case ended
        case running
        case unknown(String)

        /// As the `destroyed` event's `workload` field says it.
        var name: String {
            switch self {
            case .ended: "ended"
            case .running: "running"
            case .unknown: "unknown"
            }
        }
    }

    let pid: Int32
    private let descriptor: OwnedFD?
    private let openError: SystemCallError?

    init(pid: Int32) {
        self.pid = pid
        let raw = cellos_pidfd_open(pid)
        descriptor = raw >= 0 ? OwnedFD(adopting: raw) : nil
        openError = raw < 0 ? SystemCallError("pidfd_open", context: "pid \(pid)") : nil
    }

    /// Whether the workload ended within `milliseconds` (it polls readable once it has).
    func fate(waitingMilliseconds milliseconds: Int32) -> Fate {
        if let openError { return .unknown("\(openError)") }
        do {
            return try descriptor!.poll(timeoutMilliseconds: Int(max(milliseconds, 0))) != 0 ? .ended : .running
        } catch {
            return .unknown("\(SystemCallError("poll", errno: error.errno, context: "pidfd of pid \(pid)"))")
        }
    }

    /// The sentence the broker prints and records for a lost netnsd.
    static func sentence(pid: Int32?, fate: Fate?) -> String {
        guard let pid, let fate else { return "netnsd is gone (no workload had been spawned)" }
        switch fate {
        case .ended: return "netnsd is gone; the workload (pid \(pid)) ended with it"
        case .running: return "netnsd is gone and the workload (pid \(pid)) is still running"
        case .unknown(let reason): return "netnsd is gone; whether the workload (pid \(pid)) still runs is unknown (\(reason))"
        }
    }
}

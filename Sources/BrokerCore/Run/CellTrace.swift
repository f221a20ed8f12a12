#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// `run --trace`: when each step of a cell ended, as wall-clock microseconds,
/// written to standard error at the end as `cellos-broker trace: STEP EPOCH_US`
/// lines. Wall clock rather than monotonic, so a caller can place the broker's
/// launch and exit (its own clock) on the same line (bench/cell-vs-bwrap.sh).
/// Marks are kept in memory until the end: the steps pay one clock read each.
public struct CellTrace: Sendable {
    private var marks: [(step: StaticString, microseconds: Int64)] = []

    public init() { marks.reserveCapacity(16) }

    public mutating func mark(_ step: StaticString) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        marks.append((step, Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000))
    }

    public func write() {
        var text = ""
        for mark in marks { text += "cellos-broker trace: \(mark.step) \(mark.microseconds)\n" }
        _ = Array(text.utf8).withUnsafeBytes { EventsOutput.writeAll(STDERR_FILENO, $0) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// `run --trace`: when each step of a cell ended, as wall-clock microseconds,
/// written to standard error at the end as `cellos-broker trace: STEP EPOCH_US`
/// lines. Wall clock rather than monotonic, so a caller can place the broker's
/// launch and exit (its own clock) on the same line (bench/cell-vs-bwrap.sh).
/// Marks are kept in memory until the end: the steps pay one clock read each.
public struct CellTrace: Sendable {
    private var marks: [(step: StaticString, microseconds: Int64)] = []

    public init() { marks.reserveCapacity(16) }

    public mutating func mark(_ step: StaticString) {
        marks.append((step, RealtimeClock.nanoseconds() / 1000))
    }

    public func write() {
        var text = ""
        for mark in marks { text += "cellos-broker trace: \(mark.step) \(mark.microseconds)\n" }
        StandardError.write(text)
    }
}

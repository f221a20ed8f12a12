#if canImport(Glibc)
import Glibc
#endif

/// clock_gettime(`clock`) in nanoseconds.
@inline(__always)
private func nanoseconds(of clock: clockid_t) -> Int64 {
    var now = timespec()
    clock_gettime(clock, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// CLOCK_MONOTONIC, for deadlines and latencies: the suite's one monotonic clock.
public enum Monotonic {
    @inline(__always)
    public static func nanoseconds() -> Int64 { IPCWire.nanoseconds(of: CLOCK_MONOTONIC) }

    @inline(__always)
    public static func milliseconds() -> Int64 { nanoseconds() / 1_000_000 }
}

/// CLOCK_REALTIME in nanoseconds since the epoch: when something happened, for events.
public enum RealtimeClock {
    @inline(__always)
    public static func nanoseconds() -> Int64 { IPCWire.nanoseconds(of: CLOCK_REALTIME) }
}

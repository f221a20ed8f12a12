#if canImport(Glibc)
import Glibc
#endif

/// CLOCK_MONOTONIC, for deadlines and latencies: the suite's one monotonic clock.
public enum Monotonic {
    @inline(__always)
    public static func nanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    @inline(__always)
    public static func milliseconds() -> Int64 { nanoseconds() / 1_000_000 }
}

/// CLOCK_REALTIME in nanoseconds since the epoch: when something happened, for events.
public enum RealtimeClock {
    @inline(__always)
    public static func nanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

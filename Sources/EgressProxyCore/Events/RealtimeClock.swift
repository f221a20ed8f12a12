#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// CLOCK_REALTIME, and the helper line model's `time`: RFC 3339 UTC with
/// exactly six fractional digits.
public enum RealtimeClock {
    public static func nanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    public static func rfc3339(_ nanoseconds: Int64) -> String {
        RFC3339.format(seconds: nanoseconds / 1_000_000_000, microseconds: nanoseconds % 1_000_000_000 / 1000)
    }
}

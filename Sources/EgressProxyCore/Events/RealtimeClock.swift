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
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out: [UInt8] = []
        for (value, width, separator) in [
            (Int(parts.tm_year) + 1900, 4, "-"), (Int(parts.tm_mon) + 1, 2, "-"), (Int(parts.tm_mday), 2, "T"),
            (Int(parts.tm_hour), 2, ":"), (Int(parts.tm_min), 2, ":"), (Int(parts.tm_sec), 2, "."),
        ] {
            JSONBytes.appendDigits(value, width: width, to: &out)
            out.append(contentsOf: separator.utf8)
        }
        JSONBytes.appendDigits(Int(nanoseconds % 1_000_000_000 / 1000), width: 6, to: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }
}

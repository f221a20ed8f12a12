#if canImport(HelperRuntime)
import HelperRuntime
#endif

extension WallTime {
    /// RFC 3339 UTC with microseconds, e.g. `2026-11-25T16:04:05.123456Z` (`RFC3339`).
    public var rfc3339: String { RFC3339.format(seconds: seconds, microseconds: Int64(microseconds)) }
}

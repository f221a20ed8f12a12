extension WallTime {
    /// RFC 3339 UTC with microseconds, e.g. `2026-11-25T16:04:05.123456Z`.
    /// Computed here (days-to-civil, proleptic Gregorian) rather than with gmtime_r
    /// so the event formatter stays pure Swift.
    /// Times outside 1970...9999 (a kernel timestamp is untrusted input) are
    /// clamped to those bounds, which also keeps the arithmetic below from overflowing.
    public var rfc3339: String {
        let seconds = min(max(self.seconds, 0), 253_402_300_799)
        let microseconds = min(max(self.microseconds, 0), 999_999)
        let days = seconds / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(Int64(microseconds), 6))Z"
    }
}

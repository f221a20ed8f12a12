/// RFC 3339 UTC timestamps with exactly six fractional digits
/// (`2026-12-02T01:02:03.123456Z`): the one format every helper line's `time`
/// and every CloudEvent `time` the broker writes uses (docs/events.md).
///
/// Pure Swift (days-to-civil, proleptic Gregorian; no gmtime_r), so the fuzz
/// targets compile it with the decoders. Times outside 1970...9999 (a kernel
/// timestamp is untrusted input) are clamped to those bounds, which also keeps
/// the arithmetic from overflowing.
public enum RFC3339 {
    static let maxSeconds: Int64 = 253_402_300_799

    /// `YYYY-MM-DDTHH:MM:SS` (no fraction, no zone): what a per-second cache holds.
    public static func appendSeconds(_ seconds: Int64, to out: inout [UInt8]) {
        let seconds = min(max(seconds, 0), maxSeconds)
        let days = seconds / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(days: days)
        JSONBytes.appendDigits(Int(year), width: 4, to: &out); out.append(UInt8(ascii: "-"))
        JSONBytes.appendDigits(Int(month), width: 2, to: &out); out.append(UInt8(ascii: "-"))
        JSONBytes.appendDigits(Int(day), width: 2, to: &out); out.append(UInt8(ascii: "T"))
        JSONBytes.appendDigits(Int(secondOfDay / 3600), width: 2, to: &out); out.append(UInt8(ascii: ":"))
        JSONBytes.appendDigits(Int(secondOfDay / 60 % 60), width: 2, to: &out); out.append(UInt8(ascii: ":"))
        JSONBytes.appendDigits(Int(secondOfDay % 60), width: 2, to: &out)
    }

    /// `.uuuuuuZ` after `appendSeconds`.
    public static func appendFraction(microseconds: Int64, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "."))
        JSONBytes.appendDigits(Int(min(max(microseconds, 0), 999_999)), width: 6, to: &out)
        out.append(UInt8(ascii: "Z"))
    }

    public static func format(seconds: Int64, microseconds: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(27)
        appendSeconds(seconds, to: &out)
        appendFraction(microseconds: microseconds, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `format` of a clock reading in nanoseconds since the epoch (IPCWire's `RealtimeClock`).
    public static func format(nanoseconds: Int64) -> String {
        format(seconds: nanoseconds / 1_000_000_000, microseconds: nanoseconds % 1_000_000_000 / 1000)
    }

    /// Parses any RFC 3339 date-time (`T`/`t`, any number of fractional digits,
    /// `Z` or `±HH:MM`) into UTC seconds and microseconds; digits past the sixth are
    /// cut, not rounded. Nil for anything else. How a consumer's re-serialized
    /// `time` (`...03Z`, `...03.5+00:00`) is brought back to this module's form.
    public static func parse(_ text: String) -> (seconds: Int64, microseconds: Int64)? {
        let b = Array(text.utf8)
        func number(_ at: Int, _ width: Int) -> Int64? {
            guard at + width <= b.count else { return nil }
            var value: Int64 = 0
            for byte in b[at..<at + width] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard b.count >= 20, let year = number(0, 4), b[4] == UInt8(ascii: "-"), let month = number(5, 2), b[7] == UInt8(ascii: "-"),
            let day = number(8, 2), b[10] | 0x20 == UInt8(ascii: "t"), let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
            let minute = number(14, 2), b[16] == UInt8(ascii: ":"), let second = number(17, 2),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var microseconds: Int64 = 0
        if b[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < b.count, b[index] >= 0x30, b[index] <= 0x39 {
                if digits < 6 { microseconds = microseconds * 10 + Int64(b[index] - 0x30) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { microseconds *= 10 }
        }
        guard index < b.count else { return nil }
        var offset: Int64 = 0
        if b[index] | 0x20 == UInt8(ascii: "z") {
            index += 1
        } else if b[index] == UInt8(ascii: "+") || b[index] == UInt8(ascii: "-") {
            guard let hours = number(index + 1, 2), index + 3 < b.count, b[index + 3] == UInt8(ascii: ":"), let minutes = number(index + 4, 2),
                hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (b[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        // A leap second (:60) is folded into the next second's start, as POSIX time does.
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return (seconds, microseconds)
    }

    /// Whether `text` is exactly this module's form (what helper lines must carry).
    public static func isCanonical(_ text: String) -> Bool {
        guard text.utf8.count == 27, let parsed = parse(text) else { return false }
        return format(seconds: parsed.seconds, microseconds: parsed.microseconds) == text
    }

    // Howard Hinnant's civil_from_days and days_from_civil.
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}

/// Parsers for the spec's unit-bearing values, shared by the JSON decoder and the
/// `run` flags so both accept and reject exactly the same text.
enum Quantities {
    /// `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds; whole numbers only.
    static func duration(_ text: String, field: String, value: String, allowZero: Bool) throws(SpecError) -> SpecDuration {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        let scale: Int64? =
            switch unit {
            case "ms": 1
            case "", "s": 1000
            case "m": 60_000
            case "h": 3_600_000
            default: nil
            }
        guard !digits.isEmpty, digits.count <= 9, let count = Int64(digits), let scale else {
            throw SpecError(field: field, value: value, problem: "is not a duration (a whole number with ms, s, m or h, e.g. 30s)")
        }
        let milliseconds = count * scale
        guard milliseconds > 0 || allowZero else { throw SpecError(field: field, value: value, problem: "must be longer than 0") }
        guard milliseconds <= 86_400_000 else { throw SpecError(field: field, value: value, problem: "is longer than 24h") }
        return SpecDuration(milliseconds: milliseconds)
    }

    /// `268435456`, `512K`, `256M`, `2G` (binary multiples).
    static func size(_ text: String, field: String, value: String) throws(SpecError) -> UInt64 {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        let shift: UInt64? =
            switch unit {
            case "": 0
            case "K", "k": 10
            case "M", "m": 20
            case "G", "g": 30
            default: nil
            }
        guard !digits.isEmpty, digits.count <= 15, let count = UInt64(digits), let shift else {
            throw SpecError(field: field, value: value, problem: "is not a size (bytes, or a whole number with K, M or G)")
        }
        let bytes = count << shift
        guard bytes >> shift == count, bytes >= 1 << 20, bytes <= 1 << 44 else {
            throw SpecError(field: field, value: value, problem: "is out of range (1M-16384G)")
        }
        return bytes
    }
}

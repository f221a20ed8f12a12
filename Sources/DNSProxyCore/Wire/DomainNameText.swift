// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// Conversions between wire-format names and text.
public enum DomainNameText {
    /// Presentation form of the wire name in `bytes` (lower-cased, no trailing dot,
    /// "." for the root). Bytes outside letters, digits, '-' and '_' are written as
    /// `\DDD` (and '.' inside a label as `\.`), so the text is unambiguous and
    /// printable. `bytes` must hold a name the parser accepted.
    public static func presentation(_ bytes: UnsafeRawBufferPointer) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count + 8)
        var cursor = 0
        while cursor < bytes.count {
            let length = Int(bytes[cursor])
            if length == 0 { break }
            if !text.isEmpty { text.append(UInt8(ascii: ".")) }
            for byte in bytes[(cursor + 1) ..< min(cursor + 1 + length, bytes.count)] {
                let lower = UpstreamAnswerCheck.asciiLower(byte)
                switch lower {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "*"):
                    text.append(lower)
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    text.append(UInt8(ascii: "\\"))
                    text.append(lower)
                default:
                    text.append(UInt8(ascii: "\\"))
                    text.append(UInt8(ascii: "0") + lower / 100)
                    text.append(UInt8(ascii: "0") + lower / 10 % 10)
                    text.append(UInt8(ascii: "0") + lower % 10)
                }
            }
            cursor += 1 + length
        }
        return text.isEmpty ? "." : String(decoding: text, as: UTF8.self)
    }

    /// Lower-cased wire form of a host name in text ("Example.COM." → 7example3com0).
    /// Labels are letters, digits, '-' and '_', 1...63 octets; at most 255 on the wire.
    public static func wire(_ text: String) -> [UInt8]? {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty else { return nil }
        var wire: [UInt8] = []
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard (1...DNSQueryParser.maxLabelLength).contains(bytes.count) else { return nil }
            guard bytes.allSatisfy({ byte in
                let lower = UpstreamAnswerCheck.asciiLower(byte)
                return (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lower)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(lower)
                    || lower == UInt8(ascii: "-") || lower == UInt8(ascii: "_")
            }) else { return nil }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes.map(UpstreamAnswerCheck.asciiLower))
        }
        wire.append(0)
        return wire.count <= DNSQueryParser.maxNameLength ? wire : nil
    }
}

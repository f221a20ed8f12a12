/// Byte-level pieces of the JSON lines the helpers write (flowlog's `JSONLine`,
/// dnsproxy's event renderer, the capability declaration): no Strings or
/// Foundation on the per-packet and per-query paths. Pure Swift, so the decoders'
/// fuzz targets compile it alongside. `@inlinable` so the hot paths get
/// specialized code across the module boundary.
public enum JSONBytes {
    /// Decimal digits of `value` (with a leading `-` when negative).
    @inlinable
    public static func appendDecimal(_ value: some BinaryInteger, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendDecimal(UInt64(clamping: value.magnitude), to: &bytes)
            return
        }
        var magnitude = UInt64(clamping: value)
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes of scratch, no allocation
        withUnsafeMutableBytes(of: &digits) { scratch in
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: scratch[index...])
        }
    }

    /// The last `width` decimal digits of a non-negative `value`, zero-padded
    /// (dates: `2026`, `07`; microseconds: `000123`).
    @inlinable
    public static func appendDigits(_ value: Int, width: Int, to bytes: inout [UInt8]) {
        var divisor = 1
        for _ in 1 ..< width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    /// A JSON string literal, the one escaping every cellos JSON writer uses; it is
    /// RFC 8785's, so also the signed form's (docs/events.md): `"` and `\` as `\"`
    /// and `\\`; U+0008, U+0009, U+000A, U+000C, U+000D as `\b \t \n \f \r`; every
    /// other control character below U+0020 as `\u00xx` (lowercase hex); all else,
    /// DEL, `/` and non-ASCII included, as its UTF-8 bytes.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: Array("\\u00".utf8))
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0xF)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `appendQuoted` as a String.
    public static func quoted(_ value: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

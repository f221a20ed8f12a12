/// Builds one JSON object on one line, as UTF-8 bytes, fields in the order they
/// are added. The helpers write a handful of flat objects; a tiny byte writer
/// beats Foundation's encoder (startup time, and it is on the per-packet path)
/// and keeps field order stable for readers.
public struct JSONLine {
    public private(set) var bytes: [UInt8]
    private var first = true

    public init() {
        bytes = []
        bytes.reserveCapacity(320)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        JSONLine.appendQuoted(value, to: &bytes)
    }

    public mutating func field(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        JSONLine.appendDecimal(value, to: &bytes)
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func field(_ name: StaticString, _ address: IPAddress) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        address.appendText(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func optionalField(_ name: StaticString, _ value: (some BinaryInteger)?) {
        if let value { field(name, value) }
    }

    /// The object's bytes with the closing brace (no newline).
    public var objectBytes: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The object as text.
    public var object: String { String(decoding: objectBytes, as: UTF8.self) }

    static func appendDecimal(_ value: some BinaryInteger, to bytes: inout [UInt8]) {
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

    /// JSON string escaping: quotes, backslash and every control character; all
    /// other UTF-8 passes through (a Swift String is always valid UTF-8).
    static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
                case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
                case 0..<0x20, 0x7F:
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
}

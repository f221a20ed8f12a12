/// Builds one JSON object on one line, fields in the order they are added. The
/// helpers write a handful of flat objects, so a tiny writer beats linking
/// Foundation's encoder (startup time) and keeps field order stable for readers.
public struct JSONLine {
    private(set) var text = "{"
    private var first = true

    public init() {}

    private mutating func key(_ name: String) {
        if !first { text += "," }
        first = false
        text += "\""
        text += name
        text += "\":"
    }

    public mutating func field(_ name: String, _ value: String) {
        key(name)
        JSONLine.appendQuoted(value, to: &text)
    }

    public mutating func field(_ name: String, _ value: some BinaryInteger) {
        key(name)
        text += String(value)
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    /// A value that is already JSON (an array or object built elsewhere).
    public mutating func rawField(_ name: String, _ json: String) {
        key(name)
        text += json
    }

    public mutating func optionalField(_ name: String, _ value: (some BinaryInteger)?) {
        if let value { field(name, value) }
    }

    /// The object with its closing brace (no newline).
    public var object: String { text + "}" }

    /// JSON string escaping: quotes, backslash and every control character.
    static func appendQuoted(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

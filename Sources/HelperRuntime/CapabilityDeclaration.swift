/// The machine-readable declaration a helper prints for `--print-capabilities`
/// and `cellos-broker audit` reads (BrokerCore's `DeclaredCapabilities.parse`):
/// one JSON object with each capability's name, number and the operation that
/// needs it, and the mask as 16 hex digits in the format of `/proc/<pid>/status`.
/// A helper that needs nothing prints `{"capabilities":[],"mask":"0000000000000000"}`.
public enum CapabilityDeclaration {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var number: Int32
        public var operation: String

        public init(name: String, number: Int32, operation: String) {
            self.name = name
            self.number = number
            self.operation = operation
        }
    }

    public static func json(_ entries: [Entry]) -> String {
        let mask = entries.reduce(UInt64(0)) { $0 | (1 << UInt64($1.number)) }
        let objects = entries.map { entry in
            "{\"name\":\(quoted(entry.name)),\"number\":\(entry.number),\"operation\":\(quoted(entry.operation))}"
        }
        return "{\"capabilities\":[\(objects.joined(separator: ","))],\"mask\":\"\(CapabilityMask.hex(mask))\"}"
    }

    /// JSON string literal (quotes, backslash and control characters escaped).
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

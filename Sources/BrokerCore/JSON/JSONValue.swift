/// A parsed JSON document. Numbers keep the exact text they were written with, so
/// re-serializing a value never changes a number (which signing relies on) and
/// integers beyond 2^53 survive. Objects are dictionaries: the parser refuses
/// duplicate keys, so nothing is lost, and serialization sorts keys anyway.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A number value from an integer.
    public static func integer<I: BinaryInteger>(_ value: I) -> JSONValue { .number(String(value)) }

    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The JSON type name, for error messages ("expected a string, got an array").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A short rendering of the value for error messages (strings quoted, long text cut).
    public var excerpt: String {
        let text = serialized()
        return text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }
}

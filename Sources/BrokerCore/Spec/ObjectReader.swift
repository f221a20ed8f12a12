/// Reads one JSON object of a spec field by field, naming every error by its path
/// (`limits.pids`, `egress[2].address`), and refuses keys it was not asked about.
struct ObjectReader {
    let path: String
    private let members: [String: JSONValue]
    private let known: [String]

    /// `known` lists every key this object may have; any other key is an error.
    init(_ value: JSONValue, path: String, known: [String]) throws(SpecError) {
        guard case .object(let members) = value else {
            throw SpecError(field: path.isEmpty ? "spec" : path, value: value, problem: "is \(value.typeName), expected an object")
        }
        for key in members.keys.sorted() where !known.contains(key) {
            throw SpecError(
                field: fieldPath(key, in: path), value: nil,
                problem: "unknown field (known: \(known.joined(separator: ", ")))")
        }
        self.path = path
        self.members = members
        self.known = known
    }

    func field(_ key: String) -> String { fieldPath(key, in: path) }

    /// The value of `key`, or nil when it is absent or JSON null.
    func optional(_ key: String) -> JSONValue? {
        precondition(known.contains(key), "reader asked for undeclared key \(key)")
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    /// Whether `key` is present with the value JSON null (where null means "none").
    func isNull(_ key: String) -> Bool {
        precondition(known.contains(key), "reader asked for undeclared key \(key)")
        return members[key] == .null
    }

    func required(_ key: String) throws(SpecError) -> JSONValue {
        guard let value = optional(key) else { throw SpecError(field: field(key), value: nil, problem: "is required") }
        return value
    }

    func string(_ key: String) throws(SpecError) -> String? {
        try optional(key).map { value throws(SpecError) in try Self.string(value, field: field(key)) }
    }

    func bool(_ key: String) throws(SpecError) -> Bool? {
        guard let value = optional(key) else { return nil }
        guard case .bool(let flag) = value else { throw SpecError(field: field(key), value: value, problem: "is \(value.typeName), expected true or false") }
        return flag
    }

    func integer(_ key: String, in range: ClosedRange<Int64>, meaning: String) throws(SpecError) -> Int64? {
        try optional(key).map { value throws(SpecError) in try Self.integer(value, field: field(key), in: range, meaning: meaning) }
    }

    func array(_ key: String, maxCount: Int) throws(SpecError) -> [JSONValue]? {
        guard let value = optional(key) else { return nil }
        guard case .array(let elements) = value else { throw SpecError(field: field(key), value: value, problem: "is \(value.typeName), expected an array") }
        guard elements.count <= maxCount else { throw SpecError(field: field(key), value: nil, problem: "has \(elements.count) entries, at most \(maxCount) allowed") }
        return elements
    }

    /// A string without NUL bytes (they cannot reach execve or a path).
    static func string(_ value: JSONValue, field: String) throws(SpecError) -> String {
        guard case .string(let text) = value else { throw SpecError(field: field, value: value, problem: "is \(value.typeName), expected a string") }
        guard !text.utf8.contains(0) else { throw SpecError(field: field, value: value, problem: "contains a NUL byte") }
        return text
    }

    static func integer(_ value: JSONValue, field: String, in range: ClosedRange<Int64>, meaning: String) throws(SpecError) -> Int64 {
        guard case .number(let text) = value else { throw SpecError(field: field, value: value, problem: "is \(value.typeName), expected \(meaning)") }
        guard let number = Int64(text), range.contains(number) else {
            throw SpecError(field: field, value: value, problem: "is not \(meaning) (\(range.lowerBound)-\(range.upperBound))")
        }
        return number
    }
}

/// `path.key`, or `key` at the top level.
func fieldPath(_ key: String, in path: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

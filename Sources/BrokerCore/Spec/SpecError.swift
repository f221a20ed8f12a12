/// A cell spec (or `run` shortcut) that cannot be accepted: the field path
/// (`egress[1].port`, or the flag for shortcuts), the offending value as written,
/// and what is wrong with it, e.g. `egress[1].port: 70000 is not a port (1-65535)`.
public struct SpecError: Error, Equatable, Sendable, CustomStringConvertible {
    public let field: String
    /// The bad value rendered as JSON (strings quoted), or nil when the field is missing.
    public let value: String?
    public let problem: String

    public init(field: String, value: String?, problem: String) {
        self.field = field
        self.value = value
        self.problem = problem
    }

    public init(field: String, value: JSONValue, problem: String) {
        self.init(field: field, value: value.excerpt, problem: problem)
    }

    public var description: String {
        if let value { return "\(field): \(value) \(problem)" }
        return "\(field): \(problem)"
    }
}

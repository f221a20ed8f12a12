/// Why an egress policy was refused: the field (with its index, e.g.
/// `allow[2].ports`), the offending value and the rule it breaks.
public enum PolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidField(field: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .invalidField(let field, let value, let reason): "\(field) '\(value)': \(reason)"
        }
    }
}

/// One port or an inclusive range of ports, 1-65535 (`443`, `8000-8099`): the one
/// port-range type. The broker's spec and netnsd's policy parse with `parse`, each
/// wording the `SyntaxError` for its own caller.
public struct PortRange: Hashable, Sendable, CustomStringConvertible {
    public let lower: UInt16
    public let upper: UInt16

    /// What is wrong with a port or range's text.
    public enum SyntaxError: Error, Equatable, Sendable {
        /// Not 1-6 decimal digits (or two such, joined by `-`).
        case notAPort
        /// A number outside 1-65535.
        case outOfRange(Int)
        /// `lower-upper` with lower above upper.
        case empty(lower: UInt16, upper: UInt16)
    }

    public init(lower: UInt16, upper: UInt16, field: String = "ports") throws(PolicyError) {
        guard lower >= 1 else { throw .invalidField(field: field, value: "\(lower)", reason: "port 0 is not a destination port") }
        guard lower <= upper else {
            throw .invalidField(field: field, value: "\(lower)-\(upper)", reason: "range start is above its end")
        }
        self.lower = lower
        self.upper = upper
    }

    private init(checkedLower lower: UInt16, upper: UInt16) {
        self.lower = lower
        self.upper = upper
    }

    /// One port, 1-65535.
    public static func parsePort(_ text: some StringProtocol) throws(SyntaxError) -> UInt16 {
        guard !text.isEmpty, text.utf8.count <= 6, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(text) else {
            throw .notAPort
        }
        guard (1 ... 65535).contains(number) else { throw .outOfRange(number) }
        return UInt16(number)
    }

    /// `N` or `N-M`.
    public static func parse(_ text: String) throws(SyntaxError) -> PortRange {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let lower = try parsePort(parts[0])
        let upper = parts.count == 2 ? try parsePort(parts[1]) : lower
        guard lower <= upper else { throw .empty(lower: lower, upper: upper) }
        return PortRange(checkedLower: lower, upper: upper)
    }

    /// `parse`, worded for a netnsd policy field.
    public init(parsing text: String, field: String) throws(PolicyError) {
        do { self = try Self.parse(text) } catch {
            switch error {
            case .outOfRange(0): throw .invalidField(field: field, value: "0", reason: "port 0 is not a destination port")
            case .notAPort, .outOfRange:
                throw .invalidField(field: field, value: text, reason: "ports must be N or N-M with N, M in 1-65535")
            case .empty(let lower, let upper):
                throw .invalidField(field: field, value: "\(lower)-\(upper)", reason: "range start is above its end")
            }
        }
    }

    public var description: String { lower == upper ? "\(lower)" : "\(lower)-\(upper)" }
}

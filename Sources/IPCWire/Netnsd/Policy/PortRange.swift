/// One port or an inclusive range of ports, 1-65535 (`443`, `8000-8099`).
public struct PortRange: Hashable, Sendable, CustomStringConvertible {
    public let lower: UInt16
    public let upper: UInt16

    public init(lower: UInt16, upper: UInt16, field: String = "ports") throws(PolicyError) {
        guard lower >= 1 else { throw .invalidField(field: field, value: "\(lower)", reason: "port 0 is not a destination port") }
        guard lower <= upper else {
            throw .invalidField(field: field, value: "\(lower)-\(upper)", reason: "range start is above its end")
        }
        self.lower = lower
        self.upper = upper
    }

    public init(parsing text: String, field: String) throws(PolicyError) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        func port(_ part: Substring) throws(PolicyError) -> UInt16 {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt16(part) else {
                throw .invalidField(field: field, value: text, reason: "ports must be N or N-M with N, M in 1-65535")
            }
            return value
        }
        let lower = try port(parts[0])
        let upper = parts.count == 2 ? try port(parts[1]) : lower
        try self.init(lower: lower, upper: upper, field: field)
    }

    public var description: String { lower == upper ? "\(lower)" : "\(lower)-\(upper)" }
}

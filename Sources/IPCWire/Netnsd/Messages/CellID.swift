/// A cell's name as the client chose it: 1-64 characters from `[A-Za-z0-9_-]`, so
/// it is safe in paths (`/run/netns/cellos-<id>`), logs and NFLOG prefixes.
public struct CellID: Hashable, Sendable, CustomStringConvertible {
    public static let rule = "must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'"
    public let value: String

    public init(_ value: String) throws(PolicyError) {
        let bytes = Array(value.utf8)
        let allowed = bytes.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard (1...64).contains(bytes.count), allowed else { throw .invalidField(field: "cell_id", value: value, reason: Self.rule) }
        self.value = value
    }

    public var description: String { value }
}

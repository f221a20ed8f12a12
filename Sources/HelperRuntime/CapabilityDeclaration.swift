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
            "{\"name\":\(JSONBytes.quoted(entry.name)),\"number\":\(entry.number),\"operation\":\(JSONBytes.quoted(entry.operation))}"
        }
        return "{\"capabilities\":[\(objects.joined(separator: ","))],\"mask\":\"\(CapabilityMask.hex(mask))\"}"
    }
}

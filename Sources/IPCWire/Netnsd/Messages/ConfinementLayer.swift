/// One layer of a workload's confinement as netnsd applied it (`WorkloadSpawned.confinement`).
public struct ConfinementLayer: Equatable, Sendable {
    /// Every reply lists exactly these layers, in this order.
    public static let names = ["identity", "pid_namespace", "filesystem_view", "capabilities", "seccomp", "landlock", "new_session"]
    public static let maxDetailLength = 128

    public var name: String
    public var applied: Bool
    /// Short text, e.g. `uid 2415919105 (allocated)`, `ABI 7`, `opted out`.
    public var detail: String

    public init(name: String, applied: Bool, detail: String) {
        self.name = name
        self.applied = applied
        self.detail = detail
    }

    func encode(to writer: inout WireWriter) {
        writer.write(name)
        writer.write(applied)
        writer.write(detail)
    }

    init(from reader: inout WireReader, index: Int) throws(WireError) {
        let field = "confinement[\(index)]"
        name = try reader.readString("\(field).name", limit: 32)
        guard name == Self.names[index] else {
            throw .invalidField(field: "\(field).name", reason: "'\(name)' where \(Self.names[index]) belongs (order: \(Self.names.joined(separator: ", ")))")
        }
        applied = try reader.readBool("\(field).applied")
        detail = try reader.readString("\(field).detail", limit: Self.maxDetailLength)
        guard !detail.isEmpty else { throw .invalidField(field: "\(field).detail", reason: "empty") }
    }
}

/// A secret netnsd writes into the workload's private `/run/secrets/<name>`
/// (`SpawnWorkload.secretFiles`): its name and size travel in the frame, its
/// bytes in a sealed memfd among the frame's descriptors (after stdio), so the
/// value is never part of any message text netnsd could log.
public struct SecretFile: Equatable, Sendable {
    public static let maxCount = SecretBounds.maxFiles
    public static let maxBytes = SecretBounds.maxFileBytes
    public static let directory = SecretBounds.directory

    public var name: String
    /// The memfd's exact size; netnsd refuses a descriptor of any other size.
    public var size: UInt32

    /// `field` names the entry in errors, e.g. `secret_files[1]`.
    public init(name: String, size: UInt32, field: String = "secret_files") throws(WireError) {
        guard SecretName.isValid(name) else { throw .invalidField(field: "\(field).name", reason: SecretName.rule) }
        guard size <= Self.maxBytes else { throw .invalidField(field: "\(field).size", reason: "\(size) bytes exceed \(Self.maxBytes)") }
        self.name = name
        self.size = size
    }

    static func checkList(_ files: [SecretFile]) throws(WireError) {
        guard files.count <= maxCount else { throw .invalidField(field: "secret_files", reason: "\(files.count) entries exceed \(maxCount)") }
        var seen = Set<String>()
        for (index, file) in files.enumerated() where !seen.insert(file.name).inserted {
            throw .invalidField(field: "secret_files[\(index)].name", reason: "'\(file.name)' is listed twice")
        }
    }

    func encode(to writer: inout WireWriter) {
        writer.write(name)
        writer.write(size)
    }

    init(from reader: inout WireReader, index: Int) throws(WireError) {
        let field = "secret_files[\(index)]"
        let name = try reader.readString("\(field).name", limit: SecretName.maxLength)
        let size: UInt32 = try reader.read("\(field).size")
        try self.init(name: name, size: size, field: field)
    }
}

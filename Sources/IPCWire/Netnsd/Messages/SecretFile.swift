/// A secret netnsd writes into the workload's private `/run/secrets/<name>`
/// (`SpawnWorkload.secretFiles`): its name and size travel in the frame, its
/// bytes in a sealed memfd among the frame's descriptors (after stdio), so the
/// value is never part of any message text netnsd could log.
public struct SecretFile: Equatable, Sendable {
    /// Stdio (3) plus this many memfds stays within `FrameHeader.maxDescriptors`.
    public static let maxCount = 8
    public static let maxBytes: UInt32 = 64 << 10
    /// Where the workload finds them (a directory in its private /run).
    public static let directory = "/run/secrets"

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

/// The one rule for a secret's name (spec `secrets[i].name`, the wire, the file
/// under /run/secrets): 1-64 characters from A-Z, a-z, 0-9, '_', '-' and '.',
/// not starting with '.' or '-' (no hidden file, no option-like name, no path).
public enum SecretName {
    public static let maxLength = 64
    public static let rule = "must be 1-64 characters from A-Z, a-z, 0-9, '_', '-' and '.', not starting with '.' or '-'"

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...maxLength).contains(bytes.count), bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x5F || byte == 0x2D || byte == 0x2E
        }
    }

    /// A name usable as an environment variable too (`as: env`): a letter or '_' first, then letters, digits and '_'.
    public static func isVariableName(_ name: String) -> Bool {
        guard isValid(name), let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return !name.contains(".") && !name.contains("-")
    }
}

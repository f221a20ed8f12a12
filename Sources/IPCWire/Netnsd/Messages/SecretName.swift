// No wire dependencies: the cell-spec fuzz target compiles this file with the spec.

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

/// The bounds netnsd puts on secrets, which the broker's spec applies first.
public enum SecretBounds {
    /// File secrets per workload: stdio (3) plus this many memfds stays within
    /// `FrameHeader.maxDescriptors`.
    public static let maxFiles = 8
    public static let maxFileBytes: UInt32 = 64 << 10
    /// Where the workload finds them (a directory in its private /run).
    public static let directory = "/run/secrets"
    /// One `NAME=VALUE` environment entry: `SpawnWorkload.maxStringLength` (a test checks they agree).
    public static let environmentEntryBytes = 4096
}

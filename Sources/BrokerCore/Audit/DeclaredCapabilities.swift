/// What a helper says it needs, from its `--print-capabilities` output: a JSON
/// object with `"capabilities"` (entries with `"name"` and/or `"number"`, or plain
/// name strings) and/or `"mask"` (16 hex digits, `/proc` format), as
/// cellos-netnsd prints it. Output that is not such an object declares nothing,
/// and the audit says so (`note`).
public struct DeclaredCapabilities: Equatable, Sendable {
    public var mask: UInt64
    /// Why the declaration is empty or partial, when it is (e.g. "printed nothing parseable").
    public var note: String?

    public init(mask: UInt64, note: String? = nil) {
        self.mask = mask
        self.note = note
    }

    public static func parse(output: [UInt8]) -> DeclaredCapabilities {
        let trimmed = output.split(separator: UInt8(ascii: "\n")).first.map(Array.init) ?? []
        guard !trimmed.isEmpty else { return DeclaredCapabilities(mask: 0, note: "printed nothing; treated as declaring none") }
        guard let value = try? JSONParser.parse(trimmed, maxBytes: 64 * 1024), case .object(let members) = value else {
            return DeclaredCapabilities(mask: 0, note: "printed nothing parseable; treated as declaring none")
        }
        var mask: UInt64 = 0
        var problems: [String] = []
        if let text = members["mask"]?.stringValue {
            if let parsed = UInt64(text, radix: 16), text.utf8.count <= 16 { mask |= parsed } else { problems.append("bad mask '\(text)'") }
        }
        if case .array(let entries)? = members["capabilities"] {
            for entry in entries {
                if let number = capabilityNumber(entry) { mask |= 1 << UInt64(number) } else { problems.append("unknown entry \(entry.excerpt)") }
            }
        }
        if members["mask"] == nil && members["capabilities"] == nil {
            return DeclaredCapabilities(mask: 0, note: "printed JSON without \"capabilities\" or \"mask\"; treated as declaring none")
        }
        return DeclaredCapabilities(mask: mask, note: problems.isEmpty ? nil : "ignored: " + problems.joined(separator: "; "))
    }

    static func capabilityNumber(_ entry: JSONValue) -> Int? {
        switch entry {
        case .string(let name): return CapabilityNames.number(of: name)
        case .object(let fields):
            if case .number(let text)? = fields["number"], let number = Int(text), (0..<64).contains(number) { return number }
            return fields["name"]?.stringValue.flatMap(CapabilityNames.number(of:))
        default: return nil
        }
    }
}

/// The verdict and rule an nft `log prefix` names, e.g. `cellos-flow accept r3`
/// or `cellos-flow drop default` (see docs/flowlog.md).
public struct FlowVerdict: Hashable, Sendable {
    public var verdict: String
    public var rule: String

    public init(verdict: String, rule: String) {
        self.verdict = verdict
        self.rule = rule
    }
}

/// Parses NFLOG prefixes of the form `<prefix> <verdict> <rule>`.
public struct FlowPrefixParser: Sendable {
    public static let defaultPrefix = "cellos-flow"
    public static let verdicts: Set<String> = ["accept", "drop", "reject"]
    /// nft limits a log prefix to 127 bytes; a rule id is far shorter.
    public static let maxRuleLength = 64

    public let prefix: [UInt8]

    public init(prefix: String = FlowPrefixParser.defaultPrefix) {
        self.prefix = Array(prefix.utf8)
    }

    /// The verdict and rule, or nil when the prefix is not ours or not well formed
    /// (a verdict other than accept/drop/reject, a missing or overlong rule id, a
    /// rule id with characters outside `[A-Za-z0-9._-]`, extra words).
    public func parse(_ bytes: UnsafeRawBufferPointer) -> FlowVerdict? {
        guard bytes.count > prefix.count + 1, bytes.starts(with: prefix), bytes[prefix.count] == UInt8(ascii: " ") else { return nil }
        let words = bytes[(prefix.count + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard words.count == 2 else { return nil }
        let verdict = String(decoding: words[0], as: UTF8.self)
        guard Self.verdicts.contains(verdict) else { return nil }
        let rule = words[1]
        guard !rule.isEmpty, rule.count <= Self.maxRuleLength, rule.allSatisfy(Self.isRuleCharacter) else { return nil }
        return FlowVerdict(verdict: verdict, rule: String(decoding: rule, as: UTF8.self))
    }

    public func parse(_ text: String) -> FlowVerdict? {
        Array(text.utf8).withUnsafeBytes { parse($0) }
    }

    static func isRuleCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }
}

// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// One allowlist entry: `example.com` (that name only) or `*.example.com` (one or
/// more labels below it, not the apex). Case-insensitive; a trailing dot is ignored.
public struct NamePattern: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let isWildcard: Bool
    /// Lower-cased wire form of the name (without the `*.`).
    public let wire: [UInt8]

    public init?(_ text: String) {
        if text.hasPrefix("*.") {
            guard let wire = DomainNameText.wire(String(text.dropFirst(2))) else { return nil }
            isWildcard = true
            self.wire = wire
        } else {
            guard let wire = DomainNameText.wire(text) else { return nil }
            isWildcard = false
            self.wire = wire
        }
    }

    public var description: String {
        let name = wire.withUnsafeBytes { DomainNameText.presentation($0) }
        return isWildcard ? "*." + name : name
    }
}

/// The name allowlist, matched on the wire name in the receive buffer without
/// copying it: for each label boundary of the query name, the suffix from there is
/// looked up by a case-folded hash among patterns of that exact length (the apex
/// among exact patterns, strict suffixes among wildcard ones).
public struct NameAllowlist: Sendable {
    public let patterns: [NamePattern]
    /// hash of (wildcard flag, wire) → indices of patterns with that hash.
    private var buckets: [UInt64: [Int]] = [:]
    /// lengthsPresent[n]: some pattern has a wire length of n.
    private var lengthsPresent = [Bool](repeating: false, count: DNSQueryParser.maxNameLength + 1)

    public init(_ patterns: [NamePattern]) {
        var unique: [NamePattern] = []
        for pattern in patterns where !unique.contains(pattern) { unique.append(pattern) }
        self.patterns = unique
        for (index, pattern) in unique.enumerated() {
            let hash = pattern.wire.withUnsafeBytes { Self.hash($0, wildcard: pattern.isWildcard) }
            buckets[hash, default: []].append(index)
            lengthsPresent[pattern.wire.count] = true
        }
    }

    /// Whether the wire name `name` (as the parser delimited it) is allowed.
    public func allows(_ name: UnsafeRawBufferPointer) -> Bool {
        var cursor = 0
        while cursor < name.count {
            let suffixLength = name.count - cursor
            if lengthsPresent[suffixLength] {
                let suffix = UnsafeRawBufferPointer(rebasing: name[cursor...])
                let wildcard = cursor != 0
                if let indices = buckets[Self.hash(suffix, wildcard: wildcard)] {
                    for index in indices where patterns[index].isWildcard == wildcard
                        && Self.equalFolded(suffix, patterns[index].wire) {
                        return true
                    }
                }
            }
            let length = Int(name[cursor])
            if length == 0 { break }
            cursor += 1 + length
        }
        return false
    }

    /// FNV-1a over the case-folded bytes, seeded by the pattern kind.
    @inline(__always)
    static func hash(_ bytes: UnsafeRawBufferPointer, wildcard: Bool) -> UInt64 {
        var hash: UInt64 = wildcard ? 0x84222325cbf29ce4 : 0xcbf29ce484222325
        for byte in bytes {
            hash = (hash ^ UInt64(UpstreamAnswerCheck.asciiLower(byte))) &* 0x100000001b3
        }
        return hash
    }

    @inline(__always)
    static func equalFolded(_ bytes: UnsafeRawBufferPointer, _ lowered: [UInt8]) -> Bool {
        guard bytes.count == lowered.count else { return false }
        for index in 0 ..< bytes.count where UpstreamAnswerCheck.asciiLower(bytes[index]) != lowered[index] {
            return false
        }
        return true
    }
}

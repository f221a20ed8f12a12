/// An allowlist entry for the DNS proxy: `example.com` allows exactly that name,
/// `*.example.com` any name below it but not `example.com` itself (the proxy's
/// rule). Stored lowercase without a trailing dot.
public struct DNSNamePattern: Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let isWildcard: Bool

    public var description: String { isWildcard ? "*.\(name)" : name }

    public static func parse(_ text: String, field: String, value: String) throws(SpecError) -> DNSNamePattern {
        var rest = text.lowercased()
        var wildcard = false
        if rest.hasPrefix("*.") {
            wildcard = true
            rest.removeFirst(2)
        }
        if rest.hasSuffix(".") { rest.removeLast() }
        let labels = rest.split(separator: ".", omittingEmptySubsequences: false)
        let validLabels = labels.allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.utf8.allSatisfy { byte in
                    (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
                }
        }
        guard !rest.isEmpty, rest.utf8.count <= 253, validLabels else {
            throw SpecError(
                field: field, value: value,
                problem: "is not a DNS name or '*.suffix' pattern (labels of 1-63 letters, digits, '-' or '_'; '*' only as the whole first label)")
        }
        return DNSNamePattern(name: rest, isWildcard: wildcard)
    }
}

/// DNS query types the spec may name; anything else is written `TYPE<number>`.
enum DNSQueryType {
    static let known = ["A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "DNSKEY", "SVCB", "HTTPS", "CAA", "ANY"]

    static func parse(_ text: String, field: String, value: String) throws(SpecError) -> String {
        let upper = text.uppercased()
        if known.contains(upper) { return upper }
        if upper.hasPrefix("TYPE"), let number = Int(upper.dropFirst(4)), (1...65535).contains(number),
            upper.dropFirst(4).utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        {
            return "TYPE\(number)"
        }
        throw SpecError(field: field, value: value, problem: "is not a DNS query type (\(known.joined(separator: ", ")) or TYPE<1-65535>)")
    }
}

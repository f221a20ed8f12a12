// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// Query type mnemonics (RFC 1035, RFC 3596, RFC 9460 …) and the RFC 3597
/// `TYPE<n>` spelling for any type.
public enum DNSQueryType {
    static let mnemonics: [(String, UInt16)] = [
        ("A", 1), ("NS", 2), ("CNAME", 5), ("SOA", 6), ("PTR", 12), ("HINFO", 13), ("MX", 15),
        ("TXT", 16), ("AAAA", 28), ("SRV", 33), ("NAPTR", 35), ("DS", 43), ("RRSIG", 46),
        ("NSEC", 47), ("DNSKEY", 48), ("NSEC3", 50), ("TLSA", 52), ("SVCB", 64), ("HTTPS", 65),
        ("AXFR", 252), ("ANY", 255), ("CAA", 257),
    ]

    /// Parses "A", "aaaa", "HTTPS", "TYPE65" or a plain number; nil for anything else.
    public static func parse(_ text: String) -> UInt16? {
        let upper = text.uppercased()
        if let known = mnemonics.first(where: { $0.0 == upper }) { return known.1 }
        let digits = upper.hasPrefix("TYPE") ? String(upper.dropFirst(4)) : upper
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = UInt16(digits) else { return nil }
        return value
    }

    /// The mnemonic of `type`, or `TYPE<n>`.
    public static func name(_ type: UInt16) -> String {
        mnemonics.first(where: { $0.1 == type })?.0 ?? "TYPE\(type)"
    }
}

import FoundationEssentials

/// Packets and bytes counted by the cell's rules, summed per rule label (the
/// rule comment: `established`, `resolver`, `dns`, `r<id>`, `default`).
public struct RuleCounters: Equatable, Sendable {
    public struct Count: Equatable, Sendable {
        public var packets: UInt64
        public var bytes: UInt64
    }

    /// Labels in chain order.
    public let labels: [String]
    private let counts: [String: Count]

    public subscript(label: String) -> Count? { counts[label] }

    /// Label, packets, bytes in chain order.
    public var entries: [(label: String, count: Count)] { labels.map { ($0, counts[$0]!) } }

    /// Parses `nft -j list table inet cellos` output (libnftables JSON schema 1).
    public init(nftJSON text: String, table: String = CellRuleset.table) throws(NftablesError) {
        let document: NftListing
        do {
            document = try JSONDecoder().decode(NftListing.self, from: Data(text.utf8))
        } catch {
            throw .malformedListing("\(error)")
        }
        var labels: [String] = []
        var counts: [String: Count] = [:]
        for rule in document.nftables.compactMap(\.rule) where rule.table == table && rule.family == CellRuleset.family {
            guard let label = rule.comment else { continue }
            for counter in rule.expr.compactMap(\.counter) {
                if counts[label] == nil { labels.append(label) }
                counts[label, default: Count(packets: 0, bytes: 0)].packets += counter.packets
                counts[label, default: Count(packets: 0, bytes: 0)].bytes += counter.bytes
            }
        }
        guard !labels.isEmpty else { throw .malformedListing("no counted rules in table \(CellRuleset.family) \(table)") }
        self.labels = labels
        self.counts = counts
    }
}

/// The parts of libnftables' JSON listing the counter reader needs; every other
/// key is ignored.
private struct NftListing: Decodable {
    struct Item: Decodable { let rule: Rule? }
    struct Rule: Decodable {
        let family: String
        let table: String
        let comment: String?
        let expr: [Expression]
    }
    struct Expression: Decodable { let counter: Counter? }
    struct Counter: Decodable {
        let packets: UInt64
        let bytes: UInt64
    }

    let nftables: [Item]
}

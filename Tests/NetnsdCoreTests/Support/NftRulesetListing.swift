import CellosTestLab
import Foundation
import Testing

/// What `nft -j list ruleset` (the nft CLI, an independent reader) shows in a netns.
struct NftRulesetListing {
    struct Rule: Equatable {
        var label: String?
        var verdict: String?
        var hasCounter: Bool
        var logPrefix: String?
        var logGroup: Int?
        var limitName: String?
        var counterPackets: Int?
        /// The `right` side of each match, as JSON text (addresses, ports, ranges).
        var matchValues: [String]
    }

    var tables: [String] = []
    var chainHook: String?
    var chainPolicy: String?
    var limitRate: Int?
    var limitBurst: Int?
    var rules: [Rule] = []

    /// Lists the ruleset of the netns behind this process's descriptor `fd`.
    static func ofNamespace(fd: Int32) throws -> NftRulesetListing {
        try parse(Shell.check(["nsenter", "--net=/proc/\(getpid())/fd/\(fd)", "nft", "-j", "list", "ruleset"]).stdout)
    }

    static func parse(_ text: String) throws -> NftRulesetListing {
        let root = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let items = try #require(root["nftables"] as? [[String: Any]])
        var listing = NftRulesetListing()
        for item in items {
            if let table = item["table"] as? [String: Any] {
                listing.tables.append("\(table["family"] ?? "?") \(table["name"] ?? "?")")
            }
            if let chain = item["chain"] as? [String: Any] {
                listing.chainHook = chain["hook"] as? String
                listing.chainPolicy = chain["policy"] as? String
            }
            if let limit = item["limit"] as? [String: Any] {
                listing.limitRate = limit["rate"] as? Int
                listing.limitBurst = limit["burst"] as? Int
            }
            guard let rule = item["rule"] as? [String: Any] else { continue }
            var observed = Rule(label: rule["comment"] as? String, hasCounter: false, matchValues: [])
            for expression in (rule["expr"] as? [[String: Any]]) ?? [] {
                if expression.keys.contains("accept") { observed.verdict = "accept" }
                if expression.keys.contains("drop") { observed.verdict = "drop" }
                if let counter = expression["counter"] as? [String: Any] {
                    observed.hasCounter = true
                    observed.counterPackets = counter["packets"] as? Int
                }
                if let log = expression["log"] as? [String: Any] {
                    observed.logPrefix = log["prefix"] as? String
                    observed.logGroup = log["group"] as? Int
                }
                if let limit = expression["limit"] as? String { observed.limitName = limit }
                if let match = expression["match"] as? [String: Any], let right = match["right"] {
                    let data = try JSONSerialization.data(withJSONObject: right, options: [.sortedKeys, .fragmentsAllowed])
                    observed.matchValues.append(String(decoding: data, as: UTF8.self))
                }
            }
            listing.rules.append(observed)
        }
        return listing
    }
}

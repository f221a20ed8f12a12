import IPCWire
import NetworkNamespaces

/// The cell's nftables table, loaded and read through libnftables on a thread
/// inside the cell netns.
public enum CellFirewall {
    /// Loads (or atomically replaces) the cell's table in the netns `namespace`.
    public static func load(_ policy: EgressPolicy, in namespace: borrowing OwnedFD) throws {
        let ruleset = CellRuleset(policy)
        try NetworkNamespace.run(in: namespace) { try loadHere(ruleset) }
    }

    /// Loads the ruleset into the netns the calling thread is in, returning the
    /// session (bound to that netns) for the cell to keep.
    @discardableResult
    static func loadHere(_ ruleset: CellRuleset) throws(NftablesError) -> NftablesSession {
        let session = try NftablesSession()
        try session.run(ruleset.text, purpose: "loading table \(CellRuleset.family) \(CellRuleset.table)")
        return session
    }

    /// Per-rule packet and byte counters of the cell's table in the netns `namespace`.
    public static func readCounters(in namespace: borrowing OwnedFD) throws -> RuleCounters {
        try NetworkNamespace.run(in: namespace) { () throws(NftablesError) -> RuleCounters in
            try readCounters(through: try NftablesSession())
        }
    }

    /// The same through a session already bound to the cell's netns.
    static func readCounters(through session: borrowing NftablesSession) throws(NftablesError) -> RuleCounters {
        session.useJSONOutput()
        defer { session.useJSONOutput(false) }
        let listing = try session.run(
            "list table \(CellRuleset.family) \(CellRuleset.table)", purpose: "listing table \(CellRuleset.table)")
        return try RuleCounters(nftJSON: listing)
    }
}

extension CellFirewall {
    /// Removes the cell's table from the netns `namespace`; removing a table that
    /// is not there is not an error (destroy is idempotent).
    public static func remove(in namespace: borrowing OwnedFD) throws {
        try NetworkNamespace.run(in: namespace) { try removeHere() }
    }

    static func removeHere() throws(NftablesError) {
        try remove(through: try NftablesSession())
    }

    static func remove(through session: borrowing NftablesSession) throws(NftablesError) {
        let table = "\(CellRuleset.family) \(CellRuleset.table)"
        try session.run("add table \(table)\ndelete table \(table)\n", purpose: "removing table \(table)")
    }
}

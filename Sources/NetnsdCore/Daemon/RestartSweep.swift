#if canImport(Glibc)
import Glibc
#endif
import IPCWire
import NetworkNamespaces

/// What a starting daemon removes of the cells its predecessor on the same
/// state directory left when it died without cleanup (SIGKILL, a crash): the
/// pins on its ledger, the uplink veths and NAT tables of the configured pool
/// in the uplink netns, and a stale control socket file. (Workload leaves are
/// swept by `StaleLeafSweep` in `CgroupSettings.prepare`, before the capability
/// drop.) Safe only under the state directory's lock: no live daemon of that
/// directory can own any of it. Returns one log line per kind removed.
public enum RestartSweep {
    /// Unmounts and removes every pin recorded in `ledger` (`StateDirectory.pinLedger`).
    public static func pins(ledger: String) -> String? {
        var removed = 0
        var failures: [String] = []
        for name in directoryEntries(ledger) {
            let pin = NamespacePin(path: "\(NamespacePin.directory)/\(name)", record: "\(ledger)/\(name)")
            do {
                try pin.remove()
                removed += 1
            } catch {
                failures.append("\(error)")
            }
        }
        return summary(removed, "pins under \(NamespacePin.directory)", failures)
    }

    /// Removes every `cellosu<N>` veth and `cellos_uplink_<N>` NAT table of the
    /// pool in the uplink netns (N within the pool's capacity: the names this
    /// configuration hands out).
    public static func uplinks(_ settings: UplinkSettings) -> String? {
        var links = 0
        var tables = 0
        var failures: [String] = []
        do {
            let namespace = try settings.openNamespace()
            let found = try NetworkNamespace.run(in: namespace) { () throws -> (links: Set<Int>, tables: Set<Int>) in
                let listing = try NftablesSession().run("list tables \(Uplink.natFamily)", purpose: "listing uplink NAT tables")
                return (
                    Set(interfaceNames().compactMap { index(of: $0, prefix: "cellosu", capacity: settings.pool.capacity) }),
                    Set(listing.split(separator: "\n").compactMap {
                        index(of: String($0.split(separator: " ").last ?? ""), prefix: "cellos_uplink_", capacity: settings.pool.capacity)
                    }))
            }
            for index in found.links.union(found.tables).sorted() {
                do {
                    try Uplink.detach(settings.pool.slot(index), uplink: namespace)
                    if found.links.contains(index) { links += 1 }
                    if found.tables.contains(index) { tables += 1 }
                } catch {
                    failures.append("uplink \(index): \(error)")
                }
            }
        } catch {
            failures.append("\(error)")
        }
        guard links + tables > 0 || !failures.isEmpty else { return nil }
        var line = "removed \(links) uplink veths and \(tables) uplink NAT tables left by an earlier daemon"
        if !failures.isEmpty { line += "; failed: \(failures.joined(separator: "; "))" }
        return line
    }

    /// Removes the socket file at `path` a dead daemon left (only a socket: any
    /// other file there is the operator's, and binding will then fail on it).
    public static func controlSocket(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        guard unlink(path) == 0 else { return "cannot remove the stale control socket: \(SystemCallError("unlink", context: path))" }
        return "removed the stale control socket file \(path) left by an earlier daemon"
    }

    private static func summary(_ removed: Int, _ what: String, _ failures: [String]) -> String? {
        guard removed > 0 || !failures.isEmpty else { return nil }
        var line = "removed \(removed) \(what) left by an earlier daemon"
        if !failures.isEmpty { line += "; failed: \(failures.joined(separator: "; "))" }
        return line
    }

    /// `prefix` + decimal index below `capacity`, or nil.
    static func index(of name: String, prefix: String, capacity: Int) -> Int? {
        guard name.hasPrefix(prefix), let index = Int(name.dropFirst(prefix.count)), index >= 0, index < capacity,
            "\(prefix)\(index)" == name else { return nil }
        return index
    }

    /// The calling thread's netns' interface names (if_nameindex(3)).
    private static func interfaceNames() -> [String] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var names: [String] = []
        var entry = list
        while entry.pointee.if_index != 0, let name = entry.pointee.if_name {
            names.append(String(cString: name))
            entry += 1
        }
        return names
    }
}

import FlowlogCore
import IPCWire
import NetworkNamespaces

/// Opens the cell's NFLOG netlink socket, bound to `group` and configured to copy
/// packets. It is called on a thread inside the cell netns, so the socket belongs
/// to the cell. The NFLOG code lives in FlowlogCore (another helper's library);
/// this is the hook it plugs into. Without an opener a cell has no NFLOG socket.
public typealias FlowLogSocketOpener = @Sendable (_ group: UInt16) throws -> OwnedFD

/// One live cell: its network namespace and the sockets created inside it. The
/// value owns every descriptor; dropping it (or `destroy()`) closes them all, and a
/// namespace netnsd created disappears with its last descriptor.
public struct Cell: ~Copyable {
    public enum Origin: Sendable, Equatable {
        /// netnsd created the namespace (`unshare(CLONE_NEWNET)`).
        case created
        /// The namespace was handed to netnsd (attach mode); it outlives the cell.
        case attached
    }

    public let id: CellID
    public let policy: EgressPolicy
    public let origin: Origin
    public let namespace: OwnedFD
    /// The libnftables session the table was loaded through, bound to the cell's
    /// netns and kept for counters and removal (see `NftablesSession` for why).
    let firewall: NftablesSession
    /// Bound UDP socket on the resolver address (for `cellos-dnsproxy`, `dns-udp`).
    public let dnsUDP: OwnedFD
    /// Bound, listening TCP socket on the resolver address (`dns-tcp`).
    public let dnsTCP: OwnedFD
    /// The NFLOG socket (`nflog`), when a `FlowLogSocketOpener` was given.
    public let flowLog: OwnedFD?
    /// The egress proxy's listening socket (`l7-tcp`), when the policy has an L7 section.
    public let l7Listener: OwnedFD?
    /// The IPv6 loopback listener (`l7-tcp6`, `[::1]` on the same port), with a transparent-mode L7 section.
    public let l7Listener6: OwnedFD?
    /// Where the namespace is pinned for `ip netns` (`--pin`), if it is.
    public internal(set) var pin: NamespacePin?
    /// The veth uplink, when the policy allows egress and the daemon has a pool.
    public internal(set) var uplink: UplinkLease?

    init(
        id: CellID, policy: EgressPolicy, origin: Origin, namespace: consuming OwnedFD,
        firewall: consuming NftablesSession, dnsUDP: consuming OwnedFD, dnsTCP: consuming OwnedFD, flowLog: consuming OwnedFD?,
        l7Listener: consuming OwnedFD? = nil, l7Listener6: consuming OwnedFD? = nil
    ) {
        self.id = id
        self.policy = policy
        self.origin = origin
        self.namespace = namespace
        self.firewall = firewall
        self.dnsUDP = dnsUDP
        self.dnsTCP = dnsTCP
        self.flowLog = flowLog
        self.l7Listener = l7Listener
        self.l7Listener6 = l7Listener6
    }

    /// Flushes and ends the cell's flow log (`NflogSocket.endLog`), once nothing
    /// in the cell can send any more; a cell without an NFLOG socket has none.
    func endFlowLog() throws {
        switch flowLog {
        case .some(let socket): try NflogSocket.endLog(socket, group: policy.nflogGroup)
        case .none: break
        }
    }

    /// Per-rule counters of the cell's table.
    public func readCounters() throws -> RuleCounters {
        try CellFirewall.readCounters(through: firewall)
    }

    /// Tears the cell down: the pin is removed, and since an attached namespace
    /// outlives the cell, the cell's table is removed from it; a created namespace
    /// goes away with the descriptors, which close when this returns (also when a
    /// removal fails, after every step was tried).
    public consuming func destroy() throws {
        try tearDown()
    }

    /// `destroy()` without the closing: the uplink, pin and (attached) table go,
    /// the descriptors stay open until the value is dropped. The session drops it
    /// only after DestroyCell's reply is out, because closing the libnftables
    /// socket can wait an RCU grace period (see `NftablesSession`). Idempotent.
    public mutating func tearDown() throws {
        var failure: (any Error)?
        if let lease = uplink {
            uplink = nil
            do { try lease.release() } catch { failure = error }
        }
        if let pinned = pin {
            pin = nil
            do { try pinned.remove() } catch { failure = failure ?? error }
        }
        if origin == .attached {
            do { try CellFirewall.remove(through: firewall) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }
}

import IPCWire
import NetworkNamespaces

/// Builds cells: a namespace (new, or attached after checks), then inside it
/// `lo` up, the nftables table, the DNS listeners and the NFLOG socket hook.
public enum CellFactory {
    /// The `ip netns` name of a pinned cell.
    public static func pinName(_ id: CellID) -> String { "cellos-\(id)" }

    /// Creates a cell in a new network namespace; with `pin`, also bind-mounts it
    /// at `/run/netns/cellos-<id>` (recorded in `pinLedger`, when given).
    /// With `uplink` and a policy that allows egress, the cell also gets a veth
    /// uplink with an address from the pool and NAT in the uplink netns.
    public static func create(
        id: CellID, policy: EgressPolicy, flowLogSocket: FlowLogSocketOpener? = nil, pin: Bool = false,
        pinLedger: String? = nil, uplink: UplinkSettings? = nil
    ) throws(CellError) -> Cell {
        if let uplink { try checkReachable(id: id, policy: policy, pool: uplink.pool) }
        let raw: RawCellDescriptors
        do {
            raw = try NetworkNamespace.create { namespace throws(CellError) -> RawCellDescriptors in
                let ownNamespace = try step(id, "duplicating the namespace descriptor") { try namespace.duplicate() }
                let sockets = try configureHere(id: id, policy: policy, flowLogSocket: flowLogSocket)
                return sockets.releasing(namespace: ownNamespace)
            }
        } catch let error as CellError {
            throw error
        } catch {
            throw CellError.failed(id.value, "creating the network namespace", error)
        }
        var cell = raw.adopt(id: id, policy: policy, origin: .created)
        if let uplink, policy.allowsEgress {
            guard let slot = uplink.pool.allocate() else {
                throw .setupFailed(cell: id.value, step: "allocating an uplink address", reason: "pool \(uplink.pool.network) is exhausted")
            }
            var lease = UplinkLease(slot: slot, settings: uplink)
            do {
                lease.nat = try Uplink.attach(slot, cell: cell.namespace, uplink: try uplink.openNamespace())
            } catch {
                try? lease.release()
                throw CellError.failed(id.value, "building the uplink \(slot.hostInterface)", error)
            }
            cell.uplink = lease
        }
        if pin {
            do {
                cell.pin = try NamespacePin.pin(cell.namespace, name: pinName(id), ledger: pinLedger)
            } catch {
                try? cell.uplink?.release()
                throw .setupFailed(cell: id.value, step: "pinning at \(NamespacePin.directory)/\(pinName(id))", reason: "\(error)")
            }
        }
        return cell
    }

    /// An allow rule that can never work is a user error: with IPv4-only uplinks,
    /// refuse any rule to an IPv6 destination other than the cell's own `::1`.
    /// (Without any uplink the cell's own loopback is all there is, for both
    /// families alike, so nothing is refused then; an attached netns brings its own
    /// links.)
    static func checkReachable(id: CellID, policy: EgressPolicy, pool: UplinkPool) throws(CellError) {
        guard pool.network6 == nil else { return }
        if let rule = policy.allow.first(where: { $0.destination.address.isV6 && !($0.destination.isHost && $0.destination.address.isLoopback) }) {
            throw .ipv6RuleWithoutIPv6Uplink(cell: id.value, rule: rule.label, destination: rule.destination.description)
        }
    }

    /// Applies a cell to an existing network namespace handed over by a client.
    /// Refuses a descriptor that is not a network namespace and the host's own
    /// namespace (compared by nsfs inode), before anything changes.
    public static func attach(
        id: CellID, namespace: consuming OwnedFD, policy: EgressPolicy, flowLogSocket: FlowLogSocketOpener? = nil
    ) throws(CellError) -> Cell {
        guard NetworkNamespace.isNetworkNamespace(namespace) else {
            throw .notANetworkNamespace(try? namespace.identity())
        }
        let identity: FileIdentity
        let host: FileIdentity
        do {
            identity = try namespace.identity()
            host = try NetworkNamespace.hostIdentity()
        } catch {
            throw .setupFailed(cell: id.value, step: "identifying the namespace", reason: "\(error)")
        }
        guard identity != host else { throw .hostNamespace(identity) }

        let raw: RawCellDescriptors
        do {
            raw = try NetworkNamespace.run(in: namespace) { () throws(CellError) -> RawCellDescriptors in
                do throws(CellError) {
                    let sockets = try configureHere(id: id, policy: policy, flowLogSocket: flowLogSocket)
                    return sockets.releasing(namespace: nil)
                } catch {
                    // The namespace is someone else's: leave no half-configured table in it.
                    try? CellFirewall.removeHere()
                    throw error
                }
            }
        } catch let error as CellError {
            throw error
        } catch {
            throw CellError.failed(id.value, "entering the attached namespace", error)
        }
        return raw.adopt(id: id, policy: policy, origin: .attached, namespace: namespace)
    }

    /// The setup steps, on a thread inside the cell netns. Order matters: the table
    /// is in place before any socket exists, so nothing is ever served unfiltered.
    static func configureHere(
        id: CellID, policy: EgressPolicy, flowLogSocket: FlowLogSocketOpener?
    ) throws(CellError) -> ConfiguredSockets {
        try step(id, "bringing lo up") { try LinkControl.setUpHere(index: LinkControl.loopbackIndex) }
        let firewall = try step(id, "loading the nftables table") { try CellFirewall.loadHere(CellRuleset(policy)) }
        let resolver = try step(id, "binding the DNS listeners on \(policy.resolver)") {
            try ResolverSockets(bindingHere: policy.resolver)
        }
        let flowLog: OwnedFD?
        if let flowLogSocket {
            flowLog = try step(id, "opening the NFLOG socket for group \(policy.nflogGroup)") {
                try flowLogSocket(policy.nflogGroup)
            }
        } else {
            flowLog = nil
        }
        let l7 = try policy.l7.map { l7 throws(CellError) in
            try step(id, "binding the L7 listener on \(l7.listener)") { try L7Listener.bindHere(l7) }
        }
        let l7v6 = try policy.l7.flatMap { l7 throws(CellError) in
            try step(id, "binding the IPv6 L7 listener on \(l7.listener6)") { try L7Listener.bindHere6(l7) }
        }
        return ConfiguredSockets(firewall: firewall, resolver: resolver, flowLog: flowLog, l7: l7, l7v6: l7v6)
    }

    static func step<T: ~Copyable>(_ id: CellID, _ name: String, _ body: () throws -> T) throws(CellError) -> T {
        do {
            return try body()
        } catch {
            throw CellError.failed(id.value, name, error)
        }
    }
}

/// The sockets made inside the namespace, still owned.
struct ConfiguredSockets: ~Copyable {
    let firewall: NftablesSession
    let resolver: ResolverSockets
    let flowLog: OwnedFD?
    let l7: OwnedFD?
    let l7v6: OwnedFD?

    /// Raw descriptors to carry out of the namespace thread (whose closure result
    /// must be copyable); adopted again right after, with nothing that can fail between.
    consuming func releasing(namespace: consuming OwnedFD?) -> RawCellDescriptors {
        RawCellDescriptors(
            namespace: namespace?.release(), firewall: firewall.release(), dnsUDP: resolver.udp.release(),
            dnsTCP: resolver.tcp.release(), flowLog: flowLog?.release(), l7: l7?.release(), l7v6: l7v6?.release())
    }
}

struct RawCellDescriptors {
    let namespace: Int32?
    let firewall: OpaquePointer
    let dnsUDP: Int32
    let dnsTCP: Int32
    let flowLog: Int32?
    let l7: Int32?
    let l7v6: Int32?

    func adopt(id: CellID, policy: EgressPolicy, origin: Cell.Origin) -> Cell {
        adopt(id: id, policy: policy, origin: origin, namespace: OwnedFD(adopting: namespace!))
    }

    func adopt(id: CellID, policy: EgressPolicy, origin: Cell.Origin, namespace: consuming OwnedFD) -> Cell {
        Cell(
            id: id, policy: policy, origin: origin, namespace: namespace,
            firewall: NftablesSession(adopting: firewall), dnsUDP: OwnedFD(adopting: dnsUDP), dnsTCP: OwnedFD(adopting: dnsTCP),
            flowLog: flowLog.map { OwnedFD(adopting: $0) }, l7Listener: l7.map { OwnedFD(adopting: $0) },
            l7Listener6: l7v6.map { OwnedFD(adopting: $0) })
    }
}

import IPCWire
import NetworkNamespaces
import Synchronization

/// Hands out /30 networks from the daemon's uplink pool, one per cell with egress:
/// `.1` on the uplink side, `.2` in the cell. A slot returns to the pool when its
/// cell is destroyed.
public final class UplinkPool: Sendable {
    public let network: IPNetwork
    private let used = Mutex(Set<Int>())

    /// `network` must be IPv4 with a prefix of /8 to /30.
    public init(network: IPNetwork) throws(PolicyError) {
        guard !network.address.isV6, (8...30).contains(network.prefixLength) else {
            throw .invalidField(field: "--uplink-pool", value: network.description, reason: "must be an IPv4 network of /8 to /30")
        }
        self.network = network
    }

    public var capacity: Int { 1 << ((32 - network.prefixLength) - 2) }

    public func allocate() -> UplinkSlot? {
        let index = used.withLock { used -> Int? in
            guard let free = (0..<capacity).first(where: { !used.contains($0) }) else { return nil }
            used.insert(free)
            return free
        }
        return index.map { UplinkSlot(index: $0, base: network.address.bytes) }
    }

    public func release(_ slot: UplinkSlot) {
        _ = used.withLock { $0.remove(slot.index) }
    }
}

/// One cell's uplink: interface names and the /30's two addresses.
public struct UplinkSlot: Sendable, Equatable {
    public let index: Int
    public let hostAddress: IPAddress
    public let cellAddress: IPAddress
    public static let prefixLength = 30
    /// The cell-side interface name inside the cell netns.
    public static let cellInterface = "uplink"
    /// The uplink-side interface name (unique per slot, within IFNAMSIZ).
    public var hostInterface: String { "cellosu\(index)" }
    /// The uplink netns' NAT table for this slot.
    public var natTable: String { "cellos_uplink_\(index)" }

    init(index: Int, base: [UInt8]) {
        self.index = index
        let value = (UInt32(base[0]) << 24 | UInt32(base[1]) << 16 | UInt32(base[2]) << 8 | UInt32(base[3])) + UInt32(index) * 4
        func address(_ offset: UInt32) -> IPAddress {
            let v = value + offset
            return .v4([UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
        }
        hostAddress = address(1)
        cellAddress = address(2)
    }
}

/// The daemon's uplink configuration: the address pool and the netns uplinks
/// are made in (nil: the daemon's own, i.e. the host's).
public struct UplinkSettings: Sendable {
    public let pool: UplinkPool
    public let namespacePath: String?

    public init(pool: UplinkPool, namespacePath: String? = nil) {
        self.pool = pool
        self.namespacePath = namespacePath
    }

    func openNamespace() throws -> OwnedFD {
        try NetworkNamespace.open(path: namespacePath ?? "/proc/self/ns/net")
    }
}

/// A cell's uplink while it lives: which slot, from which pool, in which netns.
public struct UplinkLease: Sendable {
    public let slot: UplinkSlot
    let settings: UplinkSettings

    /// Removes the uplink and returns the slot to the pool (also when removal fails).
    func release() throws {
        defer { settings.pool.release(slot) }
        try Uplink.detach(slot, uplink: try settings.openNamespace())
    }
}

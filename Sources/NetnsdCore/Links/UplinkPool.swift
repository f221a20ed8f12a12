import IPCWire
import NetworkNamespaces
import Synchronization

/// Hands out one slot per cell with egress from the daemon's uplink pools: a /30
/// of the IPv4 pool (`.1` on the uplink side, `.2` in the cell) and, with an IPv6
/// pool, the /126 with the same index in it (`::1` uplink side, `::2` cell side).
/// A slot returns to the pool when its cell is destroyed, and is handed out again
/// only after every other free slot: slots go round, so the next cell does not get
/// the addresses of the one just destroyed while that cell's late packets (a
/// peer's retransmission, a FIN) may still be on their way to them.
///
/// Why /126 and one index for both families: the IPv6 pair then mirrors the IPv4
/// /30 (same offsets, same interface and table names), and neither address is
/// the /126's `::0`, which a forwarding Linux interface claims as the
/// subnet-router anycast address. A /127 would need `::0`.
public final class UplinkPool: Sendable {
    public let network: IPNetwork
    /// The IPv6 pool (`--uplink-pool6`); nil: uplinks carry IPv4 only.
    public let network6: IPNetwork?
    private struct State {
        var used = Set<Int>()
        /// Where the search for a free slot starts: one past the last slot handed out.
        var next = 0
    }
    private let state = Mutex(State())

    public static let prefixRange = 8...30
    /// /64 at the widest, so a slot's offset always fits the low 64 bits.
    public static let prefixRange6 = 64...126

    /// `network` must be IPv4 with a prefix of /8 to /30; `network6`, when given,
    /// IPv6 with a prefix of /64 to /126.
    public init(network: IPNetwork, network6: IPNetwork? = nil) throws(PolicyError) {
        guard !network.address.isV6, Self.prefixRange.contains(network.prefixLength) else {
            throw .invalidField(field: "--uplink-pool", value: network.description, reason: "must be an IPv4 network of /8 to /30")
        }
        if let network6 {
            guard network6.address.isV6, Self.prefixRange6.contains(network6.prefixLength) else {
                throw .invalidField(field: "--uplink-pool6", value: network6.description, reason: "must be an IPv6 network of /64 to /126")
            }
        }
        self.network = network
        self.network6 = network6
    }

    /// Slots the IPv4 pool holds (one /30 each), bounded by the IPv6 pool's
    /// /126s when there is one: a slot needs both.
    public var capacity: Int {
        let v4 = 1 << ((32 - network.prefixLength) - 2)
        guard let network6 else { return v4 }
        return min(v4, 1 << (126 - network6.prefixLength))
    }

    public func allocate() -> UplinkSlot? {
        let capacity = capacity
        let index = state.withLock { state -> Int? in
            for offset in 0..<capacity {
                let candidate = (state.next + offset) % capacity
                if state.used.contains(candidate) { continue }
                state.used.insert(candidate)
                state.next = (candidate + 1) % capacity
                return candidate
            }
            return nil
        }
        return index.map(slot)
    }

    /// The slot with `index` (allocated or not): its names and addresses.
    func slot(_ index: Int) -> UplinkSlot {
        UplinkSlot(index: index, base: network.address.bytes, base6: network6?.address.bytes)
    }

    public func release(_ slot: UplinkSlot) {
        _ = state.withLock { $0.used.remove(slot.index) }
    }
}

/// One cell's uplink: interface names, the /30's two addresses and, with an IPv6
/// pool, the /126's two addresses.
public struct UplinkSlot: Sendable, Equatable {
    public let index: Int
    public let hostAddress: IPAddress
    public let cellAddress: IPAddress
    public let hostAddress6: IPAddress?
    public let cellAddress6: IPAddress?
    public static let prefixLength = 30
    public static let prefixLength6 = 126
    /// The cell-side interface name inside the cell netns.
    public static let cellInterface = "uplink"
    /// The uplink-side interface name (unique per slot, within IFNAMSIZ).
    public var hostInterface: String { "cellosu\(index)" }
    /// The uplink netns' NAT table for this slot.
    public var natTable: String { "cellos_uplink_\(index)" }

    init(index: Int, base: [UInt8], base6: [UInt8]? = nil) {
        self.index = index
        let value = (UInt32(base[0]) << 24 | UInt32(base[1]) << 16 | UInt32(base[2]) << 8 | UInt32(base[3])) + UInt32(index) * 4
        func address(_ offset: UInt32) -> IPAddress {
            let v = value + offset
            return .v4([UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
        }
        hostAddress = address(1)
        cellAddress = address(2)
        if let base6 {
            // The pool is /64 or longer and its host bits are zero, so the slot's
            // offset (below 2^(128 - prefix)) only ever lands in the low 64 bits.
            let low = base6[8...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } + UInt64(index) * 4
            func address6(_ offset: UInt64) -> IPAddress {
                let v = low + offset
                return .v6(Array(base6[..<8]) + (0..<8).map { UInt8((v >> (56 - 8 * UInt64($0))) & 0xFF) })
            }
            hostAddress6 = address6(1)
            cellAddress6 = address6(2)
        } else {
            hostAddress6 = nil
            cellAddress6 = nil
        }
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
    /// The session the NAT table was loaded through, once built.
    var nat: SharedNftablesSession?

    /// Removes the uplink and returns the slot to the pool (also when removal fails).
    func release() throws {
        defer { settings.pool.release(slot) }
        try Uplink.detach(slot, uplink: try settings.openNamespace(), nat: nat)
    }
}

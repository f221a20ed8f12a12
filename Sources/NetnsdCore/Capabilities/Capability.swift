import CCap

/// One Linux capability: its kernel number and its `CAP_*` name.
public struct Capability: Hashable, Sendable, CustomStringConvertible {
    public let number: Int32
    public let name: String

    public init(number: Int32, name: String) {
        self.number = number
        self.name = name
    }

    public var description: String { name }
    /// This capability's bit in a `/proc/<pid>/status` `Cap*` mask.
    public var maskBit: UInt64 { 1 << UInt64(number) }

    public static let sysAdmin = Capability(number: CAP_SYS_ADMIN, name: "CAP_SYS_ADMIN")
    public static let netAdmin = Capability(number: CAP_NET_ADMIN, name: "CAP_NET_ADMIN")
    public static let netBindService = Capability(number: CAP_NET_BIND_SERVICE, name: "CAP_NET_BIND_SERVICE")
    public static let setuid = Capability(number: CAP_SETUID, name: "CAP_SETUID")
    public static let setgid = Capability(number: CAP_SETGID, name: "CAP_SETGID")
    public static let kill = Capability(number: CAP_KILL, name: "CAP_KILL")
    public static let setpcap = Capability(number: CAP_SETPCAP, name: "CAP_SETPCAP")
}

/// A capability the daemon keeps, with the operation that cannot be done without it.
public struct CapabilityGrant: Sendable, Equatable {
    public let capability: Capability
    public let operation: String
}

/// The capabilities `cellos-netnsd` keeps after startup; everything else is dropped
/// from all five sets. Each entry names the operation that needs it, so a reviewer
/// can check every one (docs/netnsd.md lists the same table).
///
public enum DeclaredCapabilities {
    public static let grants: [CapabilityGrant] = [
        CapabilityGrant(
            capability: .sysAdmin,
            operation: "unshare(CLONE_NEWNET) to create a cell netns; setns(CLONE_NEWNET) to enter a cell or attach-mode netns; mount(MS_BIND)/umount2 of the --pin at /run/netns/cellos-<id>; SpawnWorkload: unshare(CLONE_NEWNS), the filesystem view's mounts (tmpfs, open_tree/move_mount binds, mount_setattr, proc) and pivot_root in the workload's child"),
        CapabilityGrant(
            capability: .netAdmin,
            operation: "load and read the cell's nftables table (nfnetlink); bring lo up over rtnetlink (RTM_NEWLINK); bind the cell's NFLOG socket to its group (NFULNL_CFG_CMD_BIND) and size its buffer (SO_RCVBUFFORCE)"),
        CapabilityGrant(
            capability: .netBindService,
            operation: "bind the cell's DNS UDP and TCP listeners to port 53 inside the cell netns"),
        CapabilityGrant(
            capability: .setgid,
            operation: "SpawnWorkload: setgroups(0) and setresgid to the workload's gid in the forked child"),
        CapabilityGrant(
            capability: .setuid,
            operation: "SpawnWorkload: setresuid to the workload's uid in the forked child (which clears its capabilities)"),
        CapabilityGrant(
            capability: .setpcap,
            operation: "SpawnWorkload: prctl(PR_CAPBSET_DROP) of every capability in the forked child, so the workload's bounding set is empty whatever its uid"),
        CapabilityGrant(
            capability: .kill,
            operation: "SignalWorkload and DestroyCell: kill(2) of a workload running as another uid"),
    ]

    public static var capabilities: [Capability] { grants.map(\.capability) }

    /// The declared set as a mask in the format of `/proc/<pid>/status` `CapEff`.
    public static var mask: UInt64 { capabilities.reduce(0) { $0 | $1.maskBit } }
}

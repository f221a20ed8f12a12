#if canImport(Glibc)
import Glibc
#endif
import CMnl
import CNetnsdShim
import IPCWire
import NetworkNamespaces

/// A cell's way out when its policy allows egress: a veth pair between the
/// uplink netns (the host's, or `--uplink-netns`) and the cell, a /30 from the
/// pool (and a /126 from the IPv6 pool, when there is one), default routes in
/// the cell, and NAT scoped to that one cell in the uplink netns. The cell's own
/// table still decides what may leave the cell.
public enum Uplink {
    /// Builds the uplink for the cell netns `cell` from inside `uplink`; returns
    /// the session the NAT table was loaded through, for `detach`.
    static func attach(_ slot: UplinkSlot, cell: borrowing OwnedFD, uplink: borrowing OwnedFD) throws -> SharedNftablesSession {
        let cellFD = cell.rawValue
        let nat = try NetworkNamespace.run(in: uplink) { () throws -> SharedNftablesSession in
            try createVethPair(host: slot.hostInterface, peer: UplinkSlot.cellInterface, peerNamespace: cellFD)
            let index = try interfaceIndex(slot.hostInterface)
            try addAddress(index: index, slot.hostAddress, prefixLength: UplinkSlot.prefixLength, context: slot.hostInterface)
            try LinkControl.setUpHere(index: index)
            try enableForwarding(path: forwardingPath)
            if let host6 = slot.hostAddress6 {
                try addAddress(index: index, host6, prefixLength: UplinkSlot.prefixLength6, context: slot.hostInterface)
                try enableForwarding(path: forwardingPath6)
            }
            let session = try NftablesSession()
            try session.run(natRuleset(slot), purpose: "loading uplink NAT table \(slot.natTable)")
            return SharedNftablesSession(session)
        }
        try NetworkNamespace.run(in: cell) {
            let index = try interfaceIndex(UplinkSlot.cellInterface)
            try addAddress(index: index, slot.cellAddress, prefixLength: UplinkSlot.prefixLength, context: UplinkSlot.cellInterface)
            try LinkControl.setUpHere(index: index)
            try addDefaultRoute(via: slot.hostAddress, index: index)
            if let cell6 = slot.cellAddress6, let host6 = slot.hostAddress6 {
                try addAddress(index: index, cell6, prefixLength: UplinkSlot.prefixLength6, context: UplinkSlot.cellInterface)
                try addDefaultRoute(via: host6, index: index)
            }
        }
        return nat
    }

    /// Removes the uplink-side interface (its peer goes with it) and the NAT table
    /// (through `nat`, the session `attach` loaded it with, when there is one).
    /// Idempotent.
    static func detach(_ slot: UplinkSlot, uplink: borrowing OwnedFD, nat: SharedNftablesSession? = nil) throws {
        try NetworkNamespace.run(in: uplink) {
            if let index = try? interfaceIndex(slot.hostInterface) {
                try RouteNetlink.request(type: Int32(RTM_DELLINK), flags: 0, context: "deleting \(slot.hostInterface)") { header in
                    let info = RouteNetlink.putHeader(header, ifinfomsg.self)
                    info.pointee.ifi_family = UInt8(AF_UNSPEC)
                    info.pointee.ifi_index = index
                }
            }
            let table = "\(natFamily) \(slot.natTable)"
            let removal = "add table \(table)\ndelete table \(table)\n"
            let purpose = "removing uplink NAT table \(slot.natTable)"
            if let nat { try nat.session.run(removal, purpose: purpose) } else { try NftablesSession().run(removal, purpose: purpose) }
        }
    }

    /// One `inet` table per cell holds the NAT of both families, so it goes with a
    /// single delete.
    static let natFamily = "inet"

    /// Masquerade what the cell sends out of anything but its own veth; forward
    /// the cell's traffic (from its own addresses only) out and only replies back in.
    static func natRuleset(_ slot: UplinkSlot) -> String {
        let table = "\(natFamily) \(slot.natTable)"
        let veth = "\"\(slot.hostInterface)\""
        var masquerade = ["\t\tip saddr \(slot.cellAddress) oifname != \(veth) masquerade"]
        var fromCell = ["\t\tiifname \(veth) ip saddr \(slot.cellAddress) accept"]
        if let cell6 = slot.cellAddress6 {
            masquerade.append("\t\tip6 saddr \(cell6) oifname != \(veth) masquerade")
            fromCell.append("\t\tiifname \(veth) ip6 saddr \(cell6) accept")
        }
        return """
            add table \(table)
            delete table \(table)
            table \(table) {
            \tchain postrouting {
            \t\ttype nat hook postrouting priority srcnat; policy accept;
            \(masquerade.joined(separator: "\n"))
            \t}
            \tchain forward {
            \t\ttype filter hook forward priority filter; policy accept;
            \(fromCell.joined(separator: "\n"))
            \t\tiifname \(veth) drop
            \t\toifname \(veth) ct state established,related accept
            \t\toifname \(veth) drop
            \t}
            }

            """
    }

    /// RTM_NEWLINK kind veth, the peer created directly in `peerNamespace`.
    static func createVethPair(host: String, peer: String, peerNamespace: Int32) throws(SystemCallError) {
        try RouteNetlink.request(
            type: Int32(RTM_NEWLINK), flags: Int32(NLM_F_CREATE | NLM_F_EXCL), context: "creating veth \(host)"
        ) { header in
            let info = RouteNetlink.putHeader(header, ifinfomsg.self)
            info.pointee.ifi_family = UInt8(AF_UNSPEC)
            mnl_attr_put_strz(header, UInt16(IFLA_IFNAME), host)
            let linkInfo = mnl_attr_nest_start(header, UInt16(IFLA_LINKINFO))
            mnl_attr_put_strz(header, UInt16(IFLA_INFO_KIND), "veth")
            let data = mnl_attr_nest_start(header, UInt16(IFLA_INFO_DATA))
            let peerInfo = mnl_attr_nest_start(header, UInt16(VETH_INFO_PEER))
            // The peer attribute starts with its own ifinfomsg, then its attributes.
            _ = RouteNetlink.putHeader(header, ifinfomsg.self)
            mnl_attr_put_strz(header, UInt16(IFLA_IFNAME), peer)
            mnl_attr_put_u32(header, UInt16(IFLA_NET_NS_FD), UInt32(bitPattern: peerNamespace))
            mnl_attr_nest_end(header, peerInfo)
            mnl_attr_nest_end(header, data)
            mnl_attr_nest_end(header, linkInfo)
        }
    }

    /// `address/prefixLength` on the interface `index`, IPv4 or IPv6 by the
    /// address. An IPv6 address gets `IFA_F_NODAD`: duplicate address detection
    /// would keep it "tentative" for about a second (unusable as a source, so the
    /// cell's first connection would fail or wait), and nothing else can be on a
    /// veth the daemon just made with addresses from its own pool.
    static func addAddress(index: Int32, _ address: IPAddress, prefixLength: Int, context: String) throws(SystemCallError) {
        try RouteNetlink.request(
            type: Int32(RTM_NEWADDR), flags: Int32(NLM_F_CREATE | NLM_F_EXCL), context: "adding \(address)/\(prefixLength) to \(context)"
        ) { header in
            let message = RouteNetlink.putHeader(header, ifaddrmsg.self)
            message.pointee.ifa_family = UInt8(address.isV6 ? AF_INET6 : AF_INET)
            message.pointee.ifa_prefixlen = UInt8(prefixLength)
            if address.isV6 { message.pointee.ifa_flags = UInt8(IFA_F_NODAD) }
            message.pointee.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            message.pointee.ifa_index = UInt32(index)
            address.bytes.withUnsafeBytes { raw in
                mnl_attr_put(header, UInt16(IFA_LOCAL), raw.count, raw.baseAddress)
                mnl_attr_put(header, UInt16(IFA_ADDRESS), raw.count, raw.baseAddress)
            }
        }
    }

    /// `default via <gateway> dev <index>`, IPv4 or IPv6 by the gateway (the
    /// device is named because an IPv6 gateway must resolve to an interface).
    static func addDefaultRoute(via gateway: IPAddress, index: Int32) throws(SystemCallError) {
        try RouteNetlink.request(
            type: Int32(RTM_NEWROUTE), flags: Int32(NLM_F_CREATE | NLM_F_EXCL), context: "default route via \(gateway)"
        ) { header in
            let route = RouteNetlink.putHeader(header, rtmsg.self)
            route.pointee.rtm_family = UInt8(gateway.isV6 ? AF_INET6 : AF_INET)
            route.pointee.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
            route.pointee.rtm_protocol = UInt8(RTPROT_BOOT)
            route.pointee.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
            route.pointee.rtm_type = UInt8(RTN_UNICAST)
            gateway.bytes.withUnsafeBytes { raw in
                mnl_attr_put(header, UInt16(RTA_GATEWAY.rawValue), raw.count, raw.baseAddress)
            }
            mnl_attr_put_u32(header, UInt16(RTA_OIF.rawValue), UInt32(index))
        }
    }

    static func interfaceIndex(_ name: String) throws(SystemCallError) -> Int32 {
        let index = if_nametoindex(name)
        guard index != 0 else { throw SystemCallError("if_nametoindex", context: name) }
        return Int32(index)
    }

    static let forwardingPath = "/proc/sys/net/ipv4/ip_forward"
    /// `all` is IPv6's global switch: ip6_forward() refuses to forward unless it
    /// is set, whatever the per-interface values (setting it also sets those).
    static let forwardingPath6 = "/proc/sys/net/ipv6/conf/all/forwarding"

    /// Writes 1 to a forwarding sysctl of the calling thread's netns: the files
    /// under /proc/sys/net resolve to the netns of the thread that opens them, so
    /// this thread, inside the uplink netns, switches that netns and no other.
    /// (rtnetlink can set neither of these global switches: RTM_GETNETCONF only
    /// reads them.)
    static func enableForwarding(path: String) throws(SystemCallError) {
        let fd = try OwnedFD.open(path, O_WRONLY)
        try systemCall("write", context: path) { write(fd.rawValue, "1\n", 2) }
    }
}

#if canImport(IPCWire)  // the cell-spec fuzz target compiles IPCWire's policy files with this one
import IPCWire
#endif
/// One exception to the cell's default-deny egress: traffic to `destination` over
/// `transport`, for tcp/udp limited to `ports` (nil: any port).
public struct EgressRule: Equatable, Sendable, CustomStringConvertible {
    public enum Transport: String, Equatable, Sendable, CaseIterable { case tcp, udp, icmp }

    public var transport: Transport
    public var destination: IPNetwork
    public var ports: PortRange?

    public init(transport: Transport, destination: IPNetwork, ports: PortRange?) {
        self.transport = transport
        self.destination = destination
        self.ports = ports
    }

    /// The `--allow-egress` form: `tcp:10.1.2.3:443`, `udp:10.0.0.0/8:53`,
    /// `tcp:[2001:db8::1]:8000-8100`, `icmp:10.0.0.1`, `tcp:10.1.2.3` (any port).
    public var description: String {
        let address = destination.address.isV6 ? "[\(destination)]" : destination.description
        return "\(transport.rawValue):\(address)" + (ports.map { ":\($0)" } ?? "")
    }
}

/// An inclusive destination port range; a single port has `first == last`.
public struct PortRange: Equatable, Sendable, CustomStringConvertible {
    public let first: UInt16
    public let last: UInt16

    public init(first: UInt16, last: UInt16) {
        self.first = first
        self.last = last
    }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }

    /// `443` or `8000-8100`; `field` names the source in errors.
    public static func parse(_ text: String, field: String, value: String) throws(SpecError) -> PortRange {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let first = try port(parts[0], field: field, value: value)
        let last = parts.count == 2 ? try port(parts[1], field: field, value: value) : first
        guard first <= last else {
            throw SpecError(field: field, value: value, problem: "is an empty port range (\(first) > \(last))")
        }
        return PortRange(first: first, last: last)
    }

    static func port(_ text: String, field: String, value: String) throws(SpecError) -> UInt16 {
        guard !text.isEmpty, text.count <= 6, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(text) else {
            throw SpecError(field: field, value: value, problem: "is not a port or port range (1-65535, or FIRST-LAST)")
        }
        guard (1...65535).contains(number) else {
            throw SpecError(field: field, value: value, problem: "is not a port (1-65535)")
        }
        return UInt16(number)
    }
}

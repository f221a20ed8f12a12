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
extension PortRange {
    /// `443` or `8000-8100` of spec field `field` (whose text is `value`).
    public static func parse(_ text: String, field: String, value: String) throws(SpecError) -> PortRange {
        do { return try parse(text) } catch { throw specError(error, field: field, value: value) }
    }

    /// One port, 1-65535.
    static func port(_ text: String, field: String, value: String) throws(SpecError) -> UInt16 {
        do { return try parsePort(text) } catch { throw specError(error, field: field, value: value) }
    }

    private static func specError(_ error: SyntaxError, field: String, value: String) -> SpecError {
        let problem = switch error {
        case .notAPort: "is not a port or port range (1-65535, or FIRST-LAST)"
        case .outOfRange: "is not a port (1-65535)"
        case .empty(let lower, let upper): "is an empty port range (\(lower) > \(upper))"
        }
        return SpecError(field: field, value: value, problem: problem)
    }
}

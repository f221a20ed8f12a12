#if canImport(IPCWire)  // the cell-spec fuzz target compiles IPCWire's policy files with this one
import IPCWire
#endif

/// The spec's name-based egress (`egress_names`, `egress_ports`, `egress_mode`):
/// HTTPS and HTTP by server name through `cellos-egressproxy` (docs/egressproxy.md).
public struct L7Spec: Equatable, Sendable {
    /// One `egress_names` entry: a DNS allowlist pattern, optionally with `:PORT`.
    public struct Name: Equatable, Sendable, CustomStringConvertible {
        public let pattern: DNSNamePattern
        public let port: UInt16?

        public var description: String { port.map { "\(pattern):\($0)" } ?? pattern.description }

        public static func parse(_ text: String, field: String, value: String) throws(SpecError) -> Name {
            var name = Substring(text)
            var port: UInt16?
            if let colon = name.lastIndex(of: ":") {
                guard let parsed = UInt16(name[name.index(after: colon)...]), parsed != 0 else {
                    throw SpecError(field: field, value: value, problem: "has a port that is not 1-65535")
                }
                port = parsed
                name = name[..<colon]
            }
            return Name(pattern: try DNSNamePattern.parse(String(name), field: field, value: value), port: port)
        }
    }

    public var names: [Name]
    public var ports: [UInt16] = L7Egress.defaultPorts
    public var mode: L7Mode = .both

    public init(names: [Name]) { self.names = names }

    /// The listener netnsd binds, as the workload's proxy variables name it.
    public static var proxyURL: String { "http://\(L7Egress.defaultListener)" }

    /// HTTPS_PROXY/HTTP_PROXY and their lower-case forms for explicit mode; a
    /// variable the spec sets itself is left as it is.
    public func proxyEnvironment(over environment: [String: String]) -> [String: String] {
        guard mode != .transparent else { return environment }
        var result = environment
        for name in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] where result[name] == nil { result[name] = Self.proxyURL }
        return result
    }
}

extension CellSpecDecoder {
    static func l7(_ top: ObjectReader) throws(SpecError) -> L7Spec? {
        guard let entries = try top.array("egress_names", maxCount: L7Egress.maxNames) else {
            for field in ["egress_ports", "egress_mode"] where top.optional(field) != nil {
                throw SpecError(field: field, value: nil, problem: "needs egress_names (the names the egress proxy allows)")
            }
            return nil
        }
        guard !entries.isEmpty else { throw SpecError(field: "egress_names", value: "[]", problem: "is empty (omit it for no name-based egress)") }
        var spec = L7Spec(names: try entries.enumerated().map { entry throws(SpecError) in
            let field = "egress_names[\(entry.offset)]"
            return try L7Spec.Name.parse(try ObjectReader.string(entry.element, field: field), field: field, value: entry.element.excerpt)
        })
        if let ports = try top.array("egress_ports", maxCount: L7Egress.maxPorts) {
            guard !ports.isEmpty else { throw SpecError(field: "egress_ports", value: "[]", problem: "is empty (omit it for 443 and 80)") }
            spec.ports = []
            for (index, value) in ports.enumerated() {
                guard case .number(let digits) = value, let port = UInt16(digits), port != 0, !spec.ports.contains(port) else {
                    throw SpecError(field: "egress_ports[\(index)]", value: value, problem: "is not a port 1-65535 listed once")
                }
                spec.ports.append(port)
            }
        }
        if let mode = try top.string("egress_mode") {
            guard let parsed = L7Mode(rawValue: mode) else {
                throw SpecError(field: "egress_mode", value: .string(mode), problem: "is not transparent, explicit or both")
            }
            spec.mode = parsed
        }
        return spec
    }
}

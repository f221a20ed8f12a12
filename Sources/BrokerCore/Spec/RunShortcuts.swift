#if canImport(IPCWire)  // the cell-spec fuzz target compiles IPCWire's policy files with this one
import IPCWire
#endif
/// The flag shortcuts of `cellos-broker run`, applied on top of a spec (from
/// `--spec`, or the defaults): they parse into the same model with the same
/// validators, and their errors name the flag and the text given.
public struct RunShortcuts: Equatable, Sendable {
    public var allowNames: [String] = []
    public var allowEgress: [String] = []
    public var timeout: String?
    public var id: String?
    /// `--mount SRC:DST[:rw]`, added to the spec's mounts.
    public var mounts: [String] = []
    /// `--no-pid-namespace`: the opt-out of the spec's `pid_namespace`.
    public var noPIDNamespace = false
    /// The workload's argv after `--`; replaces the spec's argv when not empty.
    public var argv: [String] = []

    public init(
        allowNames: [String] = [], allowEgress: [String] = [], timeout: String? = nil, id: String? = nil, mounts: [String] = [],
        noPIDNamespace: Bool = false, argv: [String] = []
    ) {
        self.allowNames = allowNames
        self.allowEgress = allowEgress
        self.timeout = timeout
        self.id = id
        self.mounts = mounts
        self.noPIDNamespace = noPIDNamespace
        self.argv = argv
    }

    /// `base` with the shortcuts applied; the result must still name a command.
    public func apply(to base: CellSpec) throws(SpecError) -> CellSpec {
        var spec = base
        if let id { spec.id = try CellIDs.validate(id, field: "--id") }
        for name in allowNames {
            spec.dns.allow.append(try DNSNamePattern.parse(name, field: "--allow-name", value: Self.quoted(name)))
        }
        for rule in allowEgress {
            spec.egress.append(try Self.egressRule(rule))
        }
        guard spec.egress.count <= CellSpecDecoder.maxRules else {
            throw SpecError(field: "--allow-egress", value: nil, problem: "gives \(spec.egress.count) rules, at most \(CellSpecDecoder.maxRules) allowed")
        }
        spec.mounts += try mounts.map { text throws(SpecError) in try Self.mount(text) }
        try SpecMount.checkList(spec.mounts, workspace: spec.workspace, listField: "--mount") { _ in "--mount" }
        if noPIDNamespace { spec.pidNamespace = false }
        if let timeout {
            spec.timeout = try Quantities.duration(timeout, field: "--timeout", value: Self.quoted(timeout), allowZero: false)
        }
        if !argv.isEmpty {
            guard !argv[0].isEmpty else { throw SpecError(field: "-- ARGV", value: "\"\"", problem: "is empty (the program to run)") }
            for (index, argument) in argv.enumerated() where argument.utf8.contains(0) {
                throw SpecError(field: "-- ARGV[\(index)]", value: Self.quoted(argument), problem: "contains a NUL byte")
            }
            spec.argv = argv
        }
        guard !spec.argv.isEmpty else {
            throw SpecError(field: "-- ARGV", value: nil, problem: "is missing: give the command after '--' or a spec with argv")
        }
        return spec
    }

    /// `PROTO:ADDR[/PREFIX][:PORT[-PORT]]`, IPv6 in brackets: `tcp:10.1.2.3:443`,
    /// `udp:10.0.0.0/8:53`, `tcp:[2001:db8::1]:8000-8100`, `icmp:192.0.2.1`.
    public static func egressRule(_ text: String) throws(SpecError) -> EgressRule {
        let field = "--allow-egress"
        let value = quoted(text)
        guard let colon = text.firstIndex(of: ":") else {
            throw SpecError(field: field, value: value, problem: "is not PROTO:ADDR[:PORT] (e.g. tcp:10.1.2.3:443)")
        }
        guard let transport = EgressRule.Transport(rawValue: String(text[..<colon])) else {
            throw SpecError(field: field, value: value, problem: "does not start with a protocol (tcp, udp or icmp)")
        }
        let rest = String(text[text.index(after: colon)...])
        let split = try HostPort.split(rest, field: field, value: value, afterBracket: "has text after ']' that is not :PORT")
        guard split.bracketed || split.port != nil || !rest.contains(":") else {
            throw SpecError(field: field, value: value, problem: "has an IPv6 address without brackets (write [ADDR]:PORT)")
        }
        let address = String(split.host)
        let portText = split.port.map(String.init)
        let destination = try IPNetwork.parse(address, field: field, value: value)
        var ports: PortRange?
        if let portText {
            guard transport != .icmp else { throw SpecError(field: field, value: value, problem: "gives a port, but icmp has no ports") }
            ports = try PortRange.parse(portText, field: field, value: value)
        }
        return EgressRule(transport: transport, destination: destination, ports: ports)
    }

    /// `SRC:DST`, `SRC:DST:ro` or `SRC:DST:rw` (paths without ':').
    public static func mount(_ text: String) throws(SpecError) -> SpecMount {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let mode = parts.count == 3 ? parts[2] : "ro"
        guard parts.count == 2 || parts.count == 3, mode == "ro" || mode == "rw" else {
            throw SpecError(field: "--mount", value: quoted(text), problem: "is not SRC:DST[:rw] (e.g. /srv/data:/data or /srv/out:/out:rw)")
        }
        return try SpecMount.make(source: parts[0], target: parts[1], writable: mode == "rw", sourceField: "--mount", targetField: "--mount", quote: { _ in quoted(text) })
    }

    static func quoted(_ text: String) -> String { JSONValue.string(text).excerpt }
}

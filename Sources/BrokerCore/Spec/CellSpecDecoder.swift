/// Turns spec JSON into a validated `CellSpec`. Every field is checked here, once;
/// the first problem is reported as a `SpecError` naming its path and value.
public enum CellSpecDecoder {
    public static let maxRules = 256
    public static let maxArguments = 4096

    public static func decode(_ bytes: [UInt8]) throws(SpecError) -> CellSpec {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw SpecError(field: "spec", value: nil, problem: error.description) }
        return try decode(value)
    }

    public static func decode(_ value: JSONValue, generatedID: @autoclosure () -> String = CellIDs.generate()) throws(SpecError) -> CellSpec {
        let top = try ObjectReader(
            value, path: "",
            known: ["version", "id", "argv", "env", "working_directory", "uid", "gid", "limits", "timeout", "grace", "dns", "egress", "egress_names", "egress_ports", "egress_mode", "flow_log", "namespaces", "pid_namespace", "mounts", "workspace", "secrets"])
        let version = try top.required("version")
        guard version == .integer(CellSpec.version) else {
            throw SpecError(field: "version", value: version, problem: "is not a supported spec version (this broker reads version \(CellSpec.version))")
        }
        var spec = CellSpec.defaults(id: "", argv: [])
        spec.id = try top.string("id").map { id throws(SpecError) in try CellIDs.validate(id, field: "id") } ?? generatedID()
        spec.argv = try argv(top)
        if let env = top.optional("env") { spec.environment = try environment(env, field: "env") }
        // Present as null: no workspace; absent: the default one.
        if let workspace = top.optional("workspace") {
            let path = try ObjectReader.string(workspace, field: "workspace")
            spec.workspace = try workspacePath(path, field: "workspace", value: workspace.excerpt)
        } else if top.isNull("workspace") {
            spec.workspace = nil
        }
        spec.workingDirectory = spec.workspace ?? "/"
        if let directory = try top.string("working_directory") {
            guard directory.hasPrefix("/") else {
                throw SpecError(field: "working_directory", value: .string(directory), problem: "is not an absolute path")
            }
            spec.workingDirectory = directory
        }
        let idRange: ClosedRange<Int64> = 0...4_294_967_294
        spec.uid = try top.integer("uid", in: idRange, meaning: "a user id").map(UInt32.init)
        spec.gid = try top.integer("gid", in: idRange, meaning: "a group id").map(UInt32.init)
        if (spec.uid == nil) != (spec.gid == nil) {
            let missing = spec.uid == nil ? "uid" : "gid"
            throw SpecError(field: missing, value: nil, problem: "is required when \(missing == "uid" ? "gid" : "uid") is given (both, or neither for ids netnsd allocates)")
        }
        if let limits = top.optional("limits") { spec.limits = try resourceLimits(limits) }
        if let timeout = try top.string("timeout") {
            spec.timeout = try Quantities.duration(timeout, field: "timeout", value: JSONValue.string(timeout).excerpt, allowZero: false)
        }
        if let grace = try top.string("grace") {
            spec.grace = try Quantities.duration(grace, field: "grace", value: JSONValue.string(grace).excerpt, allowZero: true)
        }
        if let dns = top.optional("dns") { spec.dns = try dnsPolicy(dns) }
        if let rules = try top.array("egress", maxCount: maxRules) {
            spec.egress = try rules.enumerated().map { entry throws(SpecError) in try egressRule(entry.element, path: "egress[\(entry.offset)]") }
        }
        spec.l7 = try l7(top)
        if let flowLog = try top.bool("flow_log") { spec.flowLog = flowLog }
        if let namespaces = try top.array("namespaces", maxCount: ExtraNamespace.allCases.count + 1) {
            spec.namespaces = try extraNamespaces(namespaces)
        }
        if let pidNamespace = try top.bool("pid_namespace") { spec.pidNamespace = pidNamespace }
        if let mounts = try top.array("mounts", maxCount: SpecMount.maxCount) {
            spec.mounts = try mounts.enumerated().map { entry throws(SpecError) in try mount(entry.element, path: "mounts[\(entry.offset)]") }
            try SpecMount.checkList(spec.mounts, workspace: spec.workspace, listField: "mounts") { "mounts[\($0)].target" }
        }
        if let secrets = try top.array("secrets", maxCount: SpecSecret.maxCount) {
            spec.secrets = try secrets.enumerated().map { entry throws(SpecError) in try secret(entry.element, path: "secrets[\(entry.offset)]") }
            try SpecSecret.checkList(spec.secrets, environment: spec.environment)
        }
        return spec
    }

    static func secret(_ value: JSONValue, path: String) throws(SpecError) -> SpecSecret {
        let reader = try ObjectReader(value, path: path, known: ["name", "from", "as"])
        let name = try ObjectReader.string(try reader.required("name"), field: reader.field("name"))
        let from = try ObjectReader.string(try reader.required("from"), field: reader.field("from"))
        var delivery = SpecSecret.Delivery.file
        if let written = reader.optional("as") {
            guard let chosen = SpecSecret.Delivery(rawValue: try ObjectReader.string(written, field: reader.field("as"))) else {
                throw SpecError(field: reader.field("as"), value: written, problem: "is not a delivery (\"env\" or \"file\")")
            }
            delivery = chosen
        }
        return try SpecSecret.make(name: name, from: from, delivery: delivery, path: path)
    }

    /// An absolute path like a mount target's, and not `/`.
    static func workspacePath(_ path: String, field: String, value: String) throws(SpecError) -> String {
        let checked = try SpecMount.path(path, field: field, value: value)
        guard SpecMount.normalized(checked) != "/" else { throw SpecError(field: field, value: value, problem: "is the root (give a directory like /workspace, or null)") }
        return checked
    }

    static func mount(_ value: JSONValue, path: String) throws(SpecError) -> SpecMount {
        let reader = try ObjectReader(value, path: path, known: ["source", "target", "mode"])
        let source = try ObjectReader.string(try reader.required("source"), field: reader.field("source"))
        let target = try ObjectReader.string(try reader.required("target"), field: reader.field("target"))
        var writable = false
        if let mode = reader.optional("mode") {
            switch try ObjectReader.string(mode, field: reader.field("mode")) {
            case "ro": writable = false
            case "rw": writable = true
            default: throw SpecError(field: reader.field("mode"), value: mode, problem: "is not a mount mode (\"ro\" or \"rw\")")
            }
        }
        return try SpecMount.make(
            source: source, target: target, writable: writable, sourceField: reader.field("source"), targetField: reader.field("target"),
            quote: { JSONValue.string($0).excerpt })
    }

    static func argv(_ top: ObjectReader) throws(SpecError) -> [String] {
        guard let elements = try top.array("argv", maxCount: maxArguments) else {
            throw SpecError(field: "argv", value: nil, problem: "is required (the workload's command line)")
        }
        guard !elements.isEmpty else { throw SpecError(field: "argv", value: "[]", problem: "is empty (the workload's command line)") }
        let argv = try elements.enumerated().map { entry throws(SpecError) in try ObjectReader.string(entry.element, field: "argv[\(entry.offset)]") }
        guard !argv[0].isEmpty else { throw SpecError(field: "argv[0]", value: "\"\"", problem: "is empty (the program to run)") }
        return argv
    }

    static func environment(_ value: JSONValue, field: String) throws(SpecError) -> [String: String] {
        guard case .object(let members) = value else { throw SpecError(field: field, value: value, problem: "is \(value.typeName), expected an object of strings") }
        var environment: [String: String] = [:]
        for key in members.keys.sorted() {
            let path = "\(field).\(key)"
            guard !key.isEmpty, !key.contains("="), !key.utf8.contains(0) else {
                throw SpecError(field: path, value: nil, problem: "is not a valid variable name (non-empty, no '=' or NUL)")
            }
            environment[key] = try ObjectReader.string(members[key]!, field: path)
        }
        return environment
    }

    static func resourceLimits(_ value: JSONValue) throws(SpecError) -> ResourceLimits {
        let reader = try ObjectReader(value, path: "limits", known: ["memory", "pids", "cpu_percent", "open_files"])
        var limits = ResourceLimits()
        if let memory = reader.optional("memory") {
            let text: String
            switch memory {
            case .number(let digits): text = digits
            case .string(let written): text = written
            default: throw SpecError(field: "limits.memory", value: memory, problem: "is \(memory.typeName), expected bytes or a size like \"256M\"")
            }
            limits.memoryBytes = try Quantities.size(text, field: "limits.memory", value: memory.excerpt)
        }
        if let pids = try reader.integer("pids", in: 1...4_194_304, meaning: "a process count") { limits.pids = Int(pids) }
        if let cpu = try reader.integer("cpu_percent", in: 1...102_400, meaning: "a CPU percentage") { limits.cpuPercent = Int(cpu) }
        if let files = try reader.integer("open_files", in: 3...1_048_576, meaning: "a file descriptor count") { limits.openFiles = Int(files) }
        return limits
    }

    static func dnsPolicy(_ value: JSONValue) throws(SpecError) -> DNSPolicy {
        let reader = try ObjectReader(value, path: "dns", known: ["enabled", "allow", "query_types", "upstream"])
        var policy = DNSPolicy()
        if let enabled = try reader.bool("enabled") { policy.enabled = enabled }
        if let names = try reader.array("allow", maxCount: 1024) {
            policy.allow = try names.enumerated().map { entry throws(SpecError) in
                let field = "dns.allow[\(entry.offset)]"
                return try DNSNamePattern.parse(try ObjectReader.string(entry.element, field: field), field: field, value: entry.element.excerpt)
            }
        }
        if let types = try reader.array("query_types", maxCount: 64) {
            guard !types.isEmpty else { throw SpecError(field: "dns.query_types", value: "[]", problem: "is empty (omit it for the default \(DNSPolicy.defaultQueryTypes.joined(separator: ", ")))") }
            policy.queryTypes = try types.enumerated().map { entry throws(SpecError) in
                let field = "dns.query_types[\(entry.offset)]"
                return try DNSQueryType.parse(try ObjectReader.string(entry.element, field: field), field: field, value: entry.element.excerpt)
            }
        }
        if let upstream = try reader.string("upstream") {
            policy.upstream = try SocketAddress.parse(upstream, defaultPort: 53, field: "dns.upstream", value: JSONValue.string(upstream).excerpt)
        }
        return policy
    }

    static func egressRule(_ value: JSONValue, path: String) throws(SpecError) -> EgressRule {
        let reader = try ObjectReader(value, path: path, known: ["protocol", "address", "port"])
        let protocolValue = try reader.required("protocol")
        let protocolName = try ObjectReader.string(protocolValue, field: reader.field("protocol"))
        guard let transport = EgressRule.Transport(rawValue: protocolName) else {
            throw SpecError(field: reader.field("protocol"), value: protocolValue, problem: "is not a protocol (tcp, udp or icmp)")
        }
        let addressValue = try reader.required("address")
        let address = try ObjectReader.string(addressValue, field: reader.field("address"))
        let destination = try IPNetwork.parse(address, field: reader.field("address"), value: addressValue.excerpt)
        var ports: PortRange?
        if let port = reader.optional("port") {
            guard transport != .icmp else { throw SpecError(field: reader.field("port"), value: port, problem: "is not allowed: icmp has no ports") }
            switch port {
            case .number(let digits): ports = try PortRange.parse(digits, field: reader.field("port"), value: port.excerpt)
            case .string(let text): ports = try PortRange.parse(text, field: reader.field("port"), value: port.excerpt)
            default: throw SpecError(field: reader.field("port"), value: port, problem: "is \(port.typeName), expected a port or \"FIRST-LAST\"")
            }
        }
        return EgressRule(transport: transport, destination: destination, ports: ports)
    }

    static func extraNamespaces(_ values: [JSONValue]) throws(SpecError) -> [ExtraNamespace] {
        var namespaces: [ExtraNamespace] = []
        for (index, value) in values.enumerated() {
            let field = "namespaces[\(index)]"
            let name = try ObjectReader.string(value, field: field)
            guard let namespace = ExtraNamespace(rawValue: name) else {
                throw SpecError(field: field, value: value, problem: "is not a namespace (mount, pid, ipc or uts)")
            }
            guard !namespaces.contains(namespace) else { throw SpecError(field: field, value: value, problem: "is listed twice") }
            namespaces.append(namespace)
        }
        return namespaces
    }
}

/// Cell ids: 1-64 characters from A-Z, a-z, 0-9, '_' and '-' (netnsd's rule: the id
/// names nft tables and cgroup leaves).
public enum CellIDs {
    public static func validate(_ id: String, field: String) throws(SpecError) -> String {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F || byte == 0x2D
        }
        guard (1...64).contains(id.utf8.count), allowed else {
            throw SpecError(field: field, value: JSONValue.string(id).excerpt, problem: "is not a cell id (1-64 characters from A-Z, a-z, 0-9, '_' and '-')")
        }
        return id
    }

    /// `cell-` and 12 random hex digits.
    public static func generate() -> String { "cell-" + RandomBytes.hex(6) }
}

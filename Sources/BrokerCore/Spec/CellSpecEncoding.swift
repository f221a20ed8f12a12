/// A spec written back as version-1 JSON with every default made explicit, so
/// `cellos-broker spec check` shows what will actually run. Decoding the result
/// gives the same spec.
extension CellSpec {
    public var json: JSONValue {
        var dnsMembers: [String: JSONValue] = [
            "enabled": .bool(dns.enabled),
            "allow": .array(dns.allow.map { .string($0.description) }),
            "query_types": .array(dns.queryTypes.map(JSONValue.string)),
        ]
        if let upstream = dns.upstream { dnsMembers["upstream"] = .string(upstream.description) }
        var members: [String: JSONValue] = [
            "version": .integer(CellSpec.version),
            "id": .string(id),
            "argv": .array(argv.map(JSONValue.string)),
            "env": .object(environment.mapValues(JSONValue.string)),
            "working_directory": .string(workingDirectory),
            // null: netnsd allocates the cell's own ids.
            "uid": uid.map { JSONValue.integer($0) } ?? .null,
            "gid": gid.map { JSONValue.integer($0) } ?? .null,
            "limits": .object([
                "memory": .integer(limits.memoryBytes),
                "pids": .integer(limits.pids),
                "cpu_percent": .integer(limits.cpuPercent),
                "open_files": .integer(limits.openFiles),
            ]),
            "timeout": .string(timeout.description),
            "grace": .string(grace.description),
            "dns": .object(dnsMembers),
            "egress": .array(egress.map { rule in
                var members: [String: JSONValue] = ["protocol": .string(rule.transport.rawValue), "address": .string(rule.destination.description)]
                if let ports = rule.ports { members["port"] = ports.first == ports.last ? .integer(ports.first) : .string(ports.description) }
                return .object(members)
            }),
            "flow_log": .bool(flowLog),
            "namespaces": .array(namespaces.map { .string($0.rawValue) }),
            "pid_namespace": .bool(pidNamespace),
            "workspace": workspace.map(JSONValue.string) ?? .null,
            // Sources only: a secret's value never reaches the spec.
            "secrets": .array(secrets.map { secret in
                .object(["name": .string(secret.name), "from": .string(secret.source.description), "as": .string(secret.delivery.rawValue)])
            }),
            "mounts": .array(mounts.map { mount in
                .object(["source": .string(mount.source), "target": .string(mount.target), "mode": .string(mount.writable ? "rw" : "ro")])
            }),
        ]
        if let l7 {
            members["egress_names"] = .array(l7.names.map { .string($0.description) })
            members["egress_ports"] = .array(l7.ports.map { .integer($0) })
            members["egress_mode"] = .string(l7.mode.rawValue)
        }
        return .object(members)
    }
}

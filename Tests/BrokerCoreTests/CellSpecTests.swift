@testable import BrokerCore
import Testing

@Suite struct CellSpecTests {
    static let minimal = #"{"version": 1, "id": "t1", "argv": ["/bin/true"]}"#

    /// `minimal` with one more top-level member (JSON text, e.g. `"uid": 5`).
    static func with(_ member: String) -> String {
        #"{"version": 1, "id": "t1", "argv": ["/bin/true"], \#(member)}"#
    }

    static func decode(_ text: String) throws(SpecError) -> CellSpec {
        try CellSpecDecoder.decode(Array(text.utf8))
    }

    @Test func minimalSpecGetsTheDocumentedDefaults() throws {
        let spec = try Self.decode(Self.minimal)
        #expect(spec == CellSpec.defaults(id: "t1", argv: ["/bin/true"]))
        #expect(spec.uid == nil && spec.gid == nil)
        #expect(spec.pidNamespace && spec.mounts.isEmpty && spec.workspace == "/workspace")
        #expect(spec.limits.memoryBytes == 256 << 20 && spec.limits.pids == 256 && spec.limits.cpuPercent == 100 && spec.limits.openFiles == 1024)
        #expect(spec.timeout.milliseconds == 30_000 && spec.grace.milliseconds == 2000)
        #expect(spec.dns.enabled && spec.dns.allow.isEmpty && spec.dns.queryTypes == ["A", "AAAA", "CNAME", "HTTPS"] && spec.dns.upstream == nil)
        #expect(spec.egress.isEmpty && spec.flowLog && spec.namespaces.isEmpty)
        #expect(spec.environment == ["PATH": "/usr/local/bin:/usr/bin:/bin"] && spec.workingDirectory == "/workspace")
    }

    @Test func missingIDIsGeneratedUniquely() throws {
        let first = try Self.decode(#"{"version": 1, "argv": ["x"]}"#)
        let second = try Self.decode(#"{"version": 1, "argv": ["x"]}"#)
        #expect(first.id.hasPrefix("cell-") && first.id.count == 17)
        #expect(first.id != second.id)
    }

    @Test func fullSpecDecodesEveryField() throws {
        let spec = try Self.decode("""
            {"version": 1, "id": "full_1", "argv": ["/usr/bin/env", "-i"], "env": {"A": "1", "B": ""},
             "working_directory": "/tmp", "uid": 1000, "gid": 100,
             "limits": {"memory": "1G", "pids": 10, "cpu_percent": 250, "open_files": 64},
             "timeout": "2m", "grace": "500ms",
             "dns": {"enabled": true, "allow": ["Example.COM.", "*.svc.test"], "query_types": ["a", "TYPE65"], "upstream": "[2001:db8::53]:5353"},
             "egress": [{"protocol": "tcp", "address": "10.1.2.3", "port": 443},
                        {"protocol": "udp", "address": "10.0.0.0/8", "port": "5000-5100"},
                        {"protocol": "icmp", "address": "2001:db8::/32"}],
             "flow_log": false, "namespaces": ["pid", "mount"], "pid_namespace": false, "workspace": "/work",
             "mounts": [{"source": "/etc", "target": "/host/etc"}, {"source": "/tmp", "target": "/out", "mode": "rw"}, {"source": "/usr", "target": "/usr2", "mode": "ro"}]}
            """)
        #expect(spec.id == "full_1" && spec.argv == ["/usr/bin/env", "-i"] && spec.environment == ["A": "1", "B": ""])
        #expect(spec.workingDirectory == "/tmp" && spec.uid == 1000 && spec.gid == 100)
        #expect(spec.limits.memoryBytes == 1 << 30 && spec.limits.pids == 10 && spec.limits.cpuPercent == 250 && spec.limits.openFiles == 64)
        #expect(spec.timeout.milliseconds == 120_000 && spec.grace.milliseconds == 500)
        #expect(spec.dns.allow.map(\.description) == ["example.com", "*.svc.test"])
        #expect(spec.dns.queryTypes == ["A", "TYPE65"])
        #expect(spec.dns.upstream?.description == "[2001:db8::53]:5353")
        #expect(spec.egress.map(\.description) == ["tcp:10.1.2.3:443", "udp:10.0.0.0/8:5000-5100", "icmp:[2001:db8::/32]"])
        #expect(!spec.flowLog && spec.namespaces == [.pid, .mount])
        #expect(!spec.pidNamespace && spec.workspace == "/work")
        #expect(spec.mounts.map(\.description) == ["/etc:/host/etc:ro", "/tmp:/out:rw", "/usr:/usr2:ro"])
    }

    /// Explicit ids come as a pair; the working directory follows the workspace
    /// unless given, and a null workspace means none (working directory `/`).
    @Test func idsWorkspaceAndWorkingDirectory() throws {
        let explicit = try Self.decode(Self.with(#""uid": 70000, "gid": 70001"#))
        #expect(explicit.uid == 70000 && explicit.gid == 70001)
        let moved = try Self.decode(Self.with(#""workspace": "/scratch""#))
        #expect(moved.workspace == "/scratch" && moved.workingDirectory == "/scratch")
        let none = try Self.decode(Self.with(#""workspace": null"#))
        #expect(none.workspace == nil && none.workingDirectory == "/")
        let chosen = try Self.decode(Self.with(#""workspace": "/w", "working_directory": "/tmp""#))
        #expect(chosen.workspace == "/w" && chosen.workingDirectory == "/tmp")
    }

    @Test func encodedSpecDecodesToTheSameSpec() throws {
        for spec in [
            DemoSpec.spec(), try Self.decode(Self.with(#""egress": [{"protocol": "udp", "address": "::1", "port": "1-2"}]"#)),
            try Self.decode(Self.with(#""uid": 7, "gid": 8, "workspace": null, "pid_namespace": false, "mounts": [{"source": "/tmp", "target": "/t", "mode": "rw"}]"#)),
        ] {
            let again = try CellSpecDecoder.decode(Array(spec.json.serialized().utf8))
            #expect(again == spec)
        }
    }

    @Test func embeddedDemoSpecIsValid() {
        let spec = DemoSpec.spec()
        #expect(spec.id == "demo" && spec.egress.count == 1 && spec.dns.allow.count == 1)
    }

    /// Every validation error, with the exact message the user sees.
    @Test(arguments: [
        (#"{"id": "x", "argv": ["a"]}"#, "version: is required"),
        (#"{"version": 2, "argv": ["a"]}"#, "version: 2 is not a supported spec version (this broker reads version 1)"),
        (#"{"version": "1", "argv": ["a"]}"#, "version: \"1\" is not a supported spec version (this broker reads version 1)"),
        (#"[1]"#, "spec: [1] is an array, expected an object"),
        (#"{"version": 1,"#, "spec: invalid JSON at byte 14: expected a string key"),
        (with(#""colour": "red""#), "colour: unknown field (known: version, id, argv, env, working_directory, uid, gid, limits, timeout, grace, dns, egress, egress_names, egress_ports, egress_mode, flow_log, namespaces, pid_namespace, mounts, workspace, secrets)"),
        (with(#""limits": {"memroy": 1}"#), "limits.memroy: unknown field (known: memory, pids, cpu_percent, open_files)"),
        (with(#""dns": {"allowed": []}"#), "dns.allowed: unknown field (known: enabled, allow, query_types, upstream)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "ports": 1}]"#), "egress[0].ports: unknown field (known: protocol, address, port)"),
        (#"{"version": 1, "id": "bad id", "argv": ["a"]}"#, "id: \"bad id\" is not a cell id (1-64 characters from A-Z, a-z, 0-9, '_' and '-')"),
        (#"{"version": 1, "id": 7, "argv": ["a"]}"#, "id: 7 is a number, expected a string"),
        (#"{"version": 1}"#, "argv: is required (the workload's command line)"),
        (#"{"version": 1, "argv": []}"#, "argv: [] is empty (the workload's command line)"),
        (#"{"version": 1, "argv": "ls"}"#, "argv: \"ls\" is a string, expected an array"),
        (#"{"version": 1, "argv": ["ls", 3]}"#, "argv[1]: 3 is a number, expected a string"),
        (#"{"version": 1, "argv": [""]}"#, "argv[0]: \"\" is empty (the program to run)"),
        (#"{"version": 1, "argv": ["a\u0000b"]}"#, "argv[0]: \"a\\u0000b\" contains a NUL byte"),
        (with(#""env": ["A=1"]"#), "env: [\"A=1\"] is an array, expected an object of strings"),
        (with(#""env": {"A=B": "1"}"#), "env.A=B: is not a valid variable name (non-empty, no '=' or NUL)"),
        (with(#""env": {"A": 1}"#), "env.A: 1 is a number, expected a string"),
        (with(#""working_directory": "tmp""#), "working_directory: \"tmp\" is not an absolute path"),
        (with(#""uid": -1"#), "uid: -1 is not a user id (0-4294967294)"),
        (with(#""gid": 1.5"#), "gid: 1.5 is not a group id (0-4294967294)"),
        (with(#""uid": "0""#), "uid: \"0\" is a string, expected a user id"),
        (with(#""limits": 5"#), "limits: 5 is a number, expected an object"),
        (with(#""limits": {"memory": "12Q"}"#), "limits.memory: \"12Q\" is not a size (bytes, or a whole number with K, M or G)"),
        (with(#""limits": {"memory": 1024}"#), "limits.memory: 1024 is out of range (1M-16384G)"),
        (with(#""limits": {"memory": true}"#), "limits.memory: true is a boolean, expected bytes or a size like \"256M\""),
        (with(#""limits": {"pids": 0}"#), "limits.pids: 0 is not a process count (1-4194304)"),
        (with(#""limits": {"cpu_percent": 0}"#), "limits.cpu_percent: 0 is not a CPU percentage (1-102400)"),
        (with(#""limits": {"open_files": 2}"#), "limits.open_files: 2 is not a file descriptor count (3-1048576)"),
        (with(#""timeout": "30""#), nil),
        (with(#""timeout": "30x""#), "timeout: \"30x\" is not a duration (a whole number with ms, s, m or h, e.g. 30s)"),
        (with(#""timeout": "0s""#), "timeout: \"0s\" must be longer than 0"),
        (with(#""timeout": "25h""#), "timeout: \"25h\" is longer than 24h"),
        (with(#""timeout": 30"#), "timeout: 30 is a number, expected a string"),
        (with(#""grace": "1.5s""#), "grace: \"1.5s\" is not a duration (a whole number with ms, s, m or h, e.g. 30s)"),
        (with(#""dns": {"enabled": "yes"}"#), "dns.enabled: \"yes\" is a string, expected true or false"),
        (with(#""dns": {"allow": ["ok.test", "bad..name"]}"#), "dns.allow[1]: \"bad..name\" is not a DNS name or '*.suffix' pattern (labels of 1-63 letters, digits, '-' or '_'; '*' only as the whole first label)"),
        (with(#""dns": {"allow": ["a.*.test"]}"#), "dns.allow[0]: \"a.*.test\" is not a DNS name or '*.suffix' pattern (labels of 1-63 letters, digits, '-' or '_'; '*' only as the whole first label)"),
        (with(#""dns": {"allow": ["*"]}"#), "dns.allow[0]: \"*\" is not a DNS name or '*.suffix' pattern (labels of 1-63 letters, digits, '-' or '_'; '*' only as the whole first label)"),
        (with(#""dns": {"query_types": []}"#), "dns.query_types: [] is empty (omit it for the default A, AAAA, CNAME, HTTPS)"),
        (with(#""dns": {"query_types": ["A", "BOGUS"]}"#), "dns.query_types[1]: \"BOGUS\" is not a DNS query type (A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, NAPTR, DS, DNSKEY, SVCB, HTTPS, CAA, ANY or TYPE<1-65535>)"),
        (with(#""dns": {"query_types": ["TYPE70000"]}"#), "dns.query_types[0]: \"TYPE70000\" is not a DNS query type (A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, NAPTR, DS, DNSKEY, SVCB, HTTPS, CAA, ANY or TYPE<1-65535>)"),
        (with(#""dns": {"upstream": "resolver.test"}"#), "dns.upstream: \"resolver.test\" is not an IP address (ADDR, ADDR:PORT or [IPv6]:PORT)"),
        (with(#""dns": {"upstream": "10.0.0.1:0"}"#), "dns.upstream: \"10.0.0.1:0\" is not a port (1-65535)"),
        (with(#""dns": {"upstream": "[::1"}"#), "dns.upstream: \"[::1\" has an unclosed '[' (write [IPv6]:PORT)"),
        (with(#""egress": {}"#), "egress: {} is an object, expected an array"),
        (with(#""egress": [{"address": "10.0.0.1"}]"#), "egress[0].protocol: is required"),
        (with(#""egress": [{"protocol": "sctp", "address": "10.0.0.1"}]"#), "egress[0].protocol: \"sctp\" is not a protocol (tcp, udp or icmp)"),
        (with(#""egress": [{"protocol": "tcp"}]"#), "egress[0].address: is required"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.256"}]"#), "egress[0].address: \"10.0.0.256\" is not an IPv4 or IPv6 address or CIDR network"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.0/33"}]"#), "egress[0].address: \"10.0.0.0/33\" has an invalid prefix length (0-32)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.1.2.3/8"}]"#), "egress[0].address: \"10.1.2.3/8\" has host bits set beyond /8 (the network is 10.0.0.0/8)"),
        (with(#""egress": [{"protocol": "tcp", "address": "2001:db8::1/129"}]"#), "egress[0].address: \"2001:db8::1/129\" has an invalid prefix length (0-128)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "port": 443}, {"protocol": "tcp", "address": "10.0.0.1", "port": 70000}]"#), "egress[1].port: 70000 is not a port (1-65535)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "port": 0}]"#), "egress[0].port: 0 is not a port (1-65535)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "port": "90-80"}]"#), "egress[0].port: \"90-80\" is an empty port range (90 > 80)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "port": "http"}]"#), "egress[0].port: \"http\" is not a port or port range (1-65535, or FIRST-LAST)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "port": 44.3}]"#), "egress[0].port: 44.3 is not a port or port range (1-65535, or FIRST-LAST)"),
        (with(#""egress": [{"protocol": "tcp", "address": "10.0.0.1", "port": [1]}]"#), "egress[0].port: [1] is an array, expected a port or \"FIRST-LAST\""),
        (with(#""egress": [{"protocol": "icmp", "address": "10.0.0.1", "port": 7}]"#), "egress[0].port: 7 is not allowed: icmp has no ports"),
        (with(#""egress": ["tcp:1.2.3.4:5"]"#), "egress[0]: \"tcp:1.2.3.4:5\" is a string, expected an object"),
        (with(#""flow_log": 1"#), "flow_log: 1 is a number, expected true or false"),
        (with(#""namespaces": ["net"]"#), "namespaces[0]: \"net\" is not a namespace (mount, pid, ipc or uts)"),
        (with(#""namespaces": ["pid", "pid"]"#), "namespaces[1]: \"pid\" is listed twice"),
        (with(#""uid": 70000"#), "gid: is required when uid is given (both, or neither for ids netnsd allocates)"),
        (with(#""gid": 70000"#), "uid: is required when gid is given (both, or neither for ids netnsd allocates)"),
        (with(#""pid_namespace": "no""#), "pid_namespace: \"no\" is a string, expected true or false"),
        (with(#""workspace": "work""#), "workspace: \"work\" is not an absolute path"),
        (with(#""workspace": "/""#), "workspace: \"/\" is the root (give a directory like /workspace, or null)"),
        (with(#""workspace": "/a/../b""#), "workspace: \"/a/../b\" has a '..' component"),
        (with(#""workspace": 5"#), "workspace: 5 is a number, expected a string"),
        (with(#""mounts": {}"#), "mounts: {} is an object, expected an array"),
        (with(#""mounts": ["/tmp:/t"]"#), "mounts[0]: \"/tmp:/t\" is a string, expected an object"),
        (with(#""mounts": [{"target": "/t"}]"#), "mounts[0].source: is required"),
        (with(#""mounts": [{"source": "/tmp"}]"#), "mounts[0].target: is required"),
        (with(#""mounts": [{"source": "/tmp", "target": "/t", "writable": true}]"#), "mounts[0].writable: unknown field (known: source, target, mode)"),
        (with(#""mounts": [{"source": "tmp", "target": "/t"}]"#), "mounts[0].source: \"tmp\" is not an absolute path"),
        (with(#""mounts": [{"source": "/tmp/../etc", "target": "/t"}]"#), "mounts[0].source: \"/tmp/../etc\" has a '..' component"),
        (with(#""mounts": [{"source": "/nonexistent-cellos-source", "target": "/t"}]"#), "mounts[0].source: \"/nonexistent-cellos-source\" does not exist (No such file or directory)"),
        (with(#""mounts": [{"source": "/tmp", "target": "/t,x"}]"#), "mounts[0].target: \"/t,x\" contains a NUL byte or ','"),
        (with(#""mounts": [{"source": "/tmp", "target": "t"}]"#), "mounts[0].target: \"t\" is not an absolute path"),
        (with(#""mounts": [{"source": "/tmp", "target": "/x/.."}]"#), "mounts[0].target: \"/x/..\" has a '..' component"),
        (with(#""mounts": [{"source": "/tmp", "target": "/"}]"#), "mounts[0].target: \"/\" is the root: a mount cannot replace the whole view"),
        (with(#""mounts": [{"source": "/tmp", "target": "/a"}, {"source": "/etc", "target": "/a/"}]"#), "mounts[1].target: \"/a/\" is the target of an earlier mount"),
        (with(#""mounts": [{"source": "/tmp", "target": "/workspace"}]"#), "mounts[0].target: \"/workspace\" is the workspace (set workspace to null to mount there)"),
        (with(#""mounts": [{"source": "/tmp", "target": "/t", "mode": "wr"}]"#), "mounts[0].mode: \"wr\" is not a mount mode (\"ro\" or \"rw\")"),
        (with(#""mounts": [{"source": "/tmp", "target": "/t", "mode": true}]"#), "mounts[0].mode: true is a boolean, expected a string"),
    ] as [(String, String?)])
    func validationErrorNamesFieldAndValue(spec: String, message: String?) {
        do {
            let decoded = try Self.decode(spec)
            #expect(message == nil, "accepted \(decoded)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func tooManyEgressRulesAreRefused() {
        let rule = #"{"protocol": "tcp", "address": "10.0.0.1"}"#
        let rules = Array(repeating: rule, count: CellSpecDecoder.maxRules + 1).joined(separator: ",")
        #expect(throws: SpecError(field: "egress", value: nil, problem: "has 257 entries, at most 256 allowed")) {
            try Self.decode(Self.with("\"egress\": [\(rules)]"))
        }
    }

    @Test func nullMeansDefault() throws {
        let spec = try Self.decode(Self.with(#""uid": null, "gid": null, "dns": null, "mounts": null, "pid_namespace": null"#))
        #expect(spec.uid == nil && spec.gid == nil && spec.dns == DNSPolicy() && spec.mounts.isEmpty && spec.pidNamespace)
    }

    @Test func tooManyMountsAreRefused() {
        let mounts = (0...SpecMount.maxCount).map { #"{"source": "/tmp", "target": "/m\#($0)"}"# }.joined(separator: ",")
        #expect(throws: SpecError(field: "mounts", value: nil, problem: "has 65 entries, at most 64 allowed")) {
            try Self.decode(Self.with("\"mounts\": [\(mounts)]"))
        }
    }
}

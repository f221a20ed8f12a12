import BrokerCore
import IPCWire
import Testing

/// The one place a spec becomes netnsd requests.
@Suite struct CellRequestsTests {
    static func spec(_ argv: [String], egress: [String] = []) throws -> CellSpec {
        try RunShortcuts(allowNames: [], allowEgress: egress, timeout: nil, id: "req-1", argv: argv)
            .apply(to: CellSpec.defaults(id: "req-1", argv: []))
    }

    /// Rule i of `egress` becomes `r<i+1>` with the same destination, protocol and ports.
    @Test func egressRulesBecomeNumberedAllowRules() throws {
        let request = try CellRequests.createCell(try Self.spec(["/bin/true"], egress: ["tcp:10.1.2.3:443", "udp:[2001:db8::/32]:5000-5100", "icmp:192.0.2.1"]))
        #expect(request.cellID.value == "req-1")
        #expect(request.policy.allow.map(\.label) == ["r1", "r2", "r3"])
        #expect(request.policy.allow.map(\.destination.description) == ["10.1.2.3", "2001:db8::/32", "192.0.2.1"])
        #expect(request.policy.allow.map(\.transport.rawValue) == ["tcp", "udp", "icmp"])
        #expect(request.policy.allow.map { $0.ports?.description } == ["443", "5000-5100", nil])
    }

    /// argv[0] without a slash is found in the spec's PATH; the environment is the
    /// spec's; stdio travels along (three descriptors).
    @Test func spawnResolvesArgv0InTheSpecsPath() throws {
        let request = try CellRequests.spawnWorkload(try Self.spec(["sh", "-c", "true"]))
        #expect(request.path == "/usr/bin/sh" || request.path == "/bin/sh")
        #expect(request.arguments == ["sh", "-c", "true"])
        #expect(request.environment == ["PATH=/usr/local/bin:/usr/bin:/bin"])
        #expect(request.stdio && request.descriptorCount == 3)
        #expect(request.limits.map(\.name) == ["nofile"])
        #expect(throws: CellRequests.Refused.self) { try CellRequests.spawnWorkload(try Self.spec(["no-such-program-cellos"])) }
        #expect(throws: CellRequests.Refused.self) { try CellRequests.spawnWorkload(try Self.spec(["bin/sh"])) }
    }

    /// The confinement the spec asks for reaches the request: nil ids (netnsd
    /// allocates), the PID namespace and filesystem view on, the workspace as
    /// working directory, mounts in order; `pid_namespace: false` and explicit ids pass through.
    @Test func confinementFieldsReachTheRequest() throws {
        let request = try CellRequests.spawnWorkload(try Self.spec(["/bin/true"]))
        #expect(request.uid == nil && request.gid == nil)
        #expect(request.pidNamespace && request.filesystemView && request.mounts.isEmpty)
        #expect(request.workspace == "/workspace" && request.workingDirectory == "/workspace")
        var spec = try RunShortcuts(mounts: ["/etc:/host/etc", "/tmp:/out:rw"], noPIDNamespace: true, argv: ["/bin/true"]).apply(to: CellSpec.defaults(id: "req-1", argv: []))
        spec.uid = 70000
        spec.gid = 70001
        let explicit = try CellRequests.spawnWorkload(spec)
        #expect(explicit.uid == 70000 && explicit.gid == 70001 && !explicit.pidNamespace)
        #expect(explicit.mounts == [
            try BindMount(source: "/etc", target: "/host/etc", writable: false), try BindMount(source: "/tmp", target: "/out", writable: true),
        ])
        // `namespaces: ["pid"]` still asks for one, whatever pid_namespace says.
        spec.namespaces = [.pid]
        #expect(try CellRequests.spawnWorkload(spec).pidNamespace)
    }

    /// The spec's memory, pids and cpu limits become the request's cgroup limits
    /// (the defaults too: 256 MiB, 256, 100 percent).
    @Test func specLimitsBecomeCgroupLimits() throws {
        var spec = try Self.spec(["/bin/true"])
        #expect(try CellRequests.spawnWorkload(spec).cgroupLimits == (try CgroupLimits(memoryMaxBytes: 256 << 20, pidsMax: 256, cpuPercent: 100)))
        spec.limits = DemoSpec.spec().limits
        let request = try CellRequests.spawnWorkload(spec)
        #expect(request.cgroupLimits == (try CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 32, cpuPercent: 50)))
        #expect(request.limits == [try ResourceLimit(name: "nofile", soft: 256, hard: 256)])
        #expect(CgroupLimitKind.allCases.map { CellRequests.specField(of: $0) } == ["limits.memory", "limits.pids", "limits.cpu_percent"])
        #expect(CgroupLimitKind.allCases.map { CellRequests.specValue(of: $0, in: spec.limits) } == [64 << 20, 32, 50])
    }

    @Test func counterVerdictsFollowTheRuleset() {
        #expect(["established", "resolver", "ndp", "dns", "r1", "default"].map(CellRequests.verdict(ofRule:))
            == ["accept", "accept", "accept", "drop", "accept", "drop"])
    }
}

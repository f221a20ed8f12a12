import Glibc
import IPCWire
import Testing

/// netnsd's messages live in IPCWire, so the generic frame layer knows them: a
/// peer without NetnsdCore (the broker) decodes them with `Frame.decodeAny` and
/// `Frame.decode(as:)`, with the same strictness as the common messages.
@Suite struct NetnsdRegistryTests {
    static func sample() throws -> [any WireMessage] {
        let id = try CellID("reg-1")
        let policy = try EgressPolicy(allow: [try AllowRule(spec: "1,tcp,192.0.2.0/24,443")], nflogGroup: 3)
        return [
            CreateCell(cellID: id, policy: policy), CellCreated(cellID: id, names: CellCreated.requiredNames), DestroyCell(cellID: id),
            CreateCell(cellID: id, policy: try EgressPolicy(l7: try L7Egress(names: ["api.example.com", "*.cdn.example.net:8443"], ports: [443], mode: .transparent))),
            CellCreated(cellID: id, names: CellCreated.requiredNames + ["nflog", "l7-tcp"]),
            CellDestroyed(cellID: id), ReadCounters(cellID: id),
            CountersReport(cellID: id, entries: [.init(label: "r1", packets: 2, bytes: 120)]),
            try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], uid: 65534, gid: 65534),
            try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], uid: 0, gid: 0, seccompProfile: .strict, pidNamespace: false),
            try SpawnWorkload(
                cellID: id, path: "/bin/true", arguments: ["true"], mounts: [try BindMount(source: "/srv", target: "/data", writable: true)]),
            try SpawnWorkload(
                cellID: id, path: "/bin/true", arguments: ["true"], uid: 1, gid: 1,
                cgroupLimits: try CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 32, cpuPercent: 50)),
            WorkloadSpawned(cellID: id, pid: 42, uid: 65534, gid: 65534, confinement: ConfinementWireTests.layers),
            WorkloadSpawned(
                cellID: id, pid: 42, uid: 1, gid: 1, confinement: ConfinementWireTests.layers,
                enforcement: [.init(.memory, .cgroupV1), .init(.cpu, .notEnforced(reason: "none"))]),
            StartWorkload(cellID: id), WorkloadStarted(cellID: id),
            try SignalWorkload(cellID: id, signal: 15), WorkloadSignalled(cellID: id),
            WorkloadExited(cellID: id, exitCode: 3, signal: nil),
            ReadStatus(),
            StatusReport(scope: .allConnections, truncated: false, cells: [
                CellStatus(
                    cellID: id, ageMilliseconds: 5, ownerPID: 7, ownerUID: 0, ownerGID: 0, workloadPID: 42, phase: .running, workloadUID: 9,
                    workloadGID: 9, confinement: ConfinementWireTests.layers, cgroupLeaves: ["/sys/fs/cgroup/x"], uplink: "cellosu0", pin: "/run/netns/cellos-reg-1"),
                CellStatus(cellID: try CellID("reg-2"), ageMilliseconds: 1, ownerPID: 8, ownerUID: 990, ownerGID: 990),
            ]),
        ]
    }

    /// Every netnsd type in `MessageType` has a registered decoder.
    @Test func everyNetnsdTypeIsRegistered() {
        for type in MessageType.allCases where type.rawValue >= 256 {
            #expect(WireMessageRegistry.messageType(for: type.rawValue) != nil, "\(type)")
        }
        #expect(WireMessageRegistry.messageType(for: 271) == nil)
    }

    /// Each message round-trips through bytes and `decodeAny` (with as many descriptors
    /// as it declares) and comes back as its own type and the same value.
    @Test func decodeAnyReturnsNetnsdMessages() throws {
        for message in try Self.sample() {
            func check<M: WireMessage>(_ message: M) throws {
                let bytes = Frame(message, requestID: 7, descriptors: descriptors(message.descriptorCount)).bytes
                let frame = try Frame.decode(bytes[...], received: descriptors(message.descriptorCount))
                let decoded = try frame.decodeAny()
                #expect(decoded as? M == message)
            }
            try check(message)
        }
    }

    @Test func trailingBytesAndWrongTypeAreRefused() throws {
        var bytes = Frame(StartWorkload(cellID: try CellID("x")), requestID: 1).bytes
        bytes.append(0)
        bytes[16] &+= 1  // payload length covers the extra byte
        #expect(throws: WireError.trailingBytes(count: 1)) { _ = try Frame.decode(bytes[...], received: DescriptorSet()).decodeAny() }
        let start = Frame(StartWorkload(cellID: try CellID("x")), requestID: 1).bytes
        #expect(throws: WireError.unexpectedMessageType(expected: MessageType.destroyCell.rawValue, received: MessageType.startWorkload.rawValue)) {
            _ = try Frame.decode(start[...], received: DescriptorSet()).decode(as: DestroyCell.self)
        }
    }

    /// `seccomp_profile`, `pid_namespace`, `filesystem_view` and `mounts` are
    /// required: a frame that ends before any of them (earlier layouts of the
    /// message) is refused, never read with weaker defaults; a profile other than
    /// 0 or 1, a boolean other than 0 or 1 are refused.
    @Test func spawnWorkloadConfinementFieldsAreRequiredAndStrict() throws {
        let full = try SpawnWorkload(
            cellID: try CellID("x"), path: "/bin/true", arguments: ["true"], uid: 1, gid: 1, seccompProfile: .strict)
        let bytes = Frame(full, requestID: 1).bytes
        // profile, pid_namespace, filesystem_view, mount count, secret file count
        #expect(Array(bytes.suffix(5)) == [SeccompProfile.strict.rawValue, 1, 1, 0, 0])
        func decode(_ bytes: [UInt8]) throws -> SpawnWorkload {
            try Frame.decode(bytes[...], received: DescriptorSet()).decode(as: SpawnWorkload.self).message
        }
        func dropping(_ count: Int) -> [UInt8] {
            var shorter = Array(bytes.dropLast(count))
            shorter[16] &-= UInt8(count)  // payload length without the dropped fields
            return shorter
        }
        #expect(try decode(bytes) == full)
        #expect(throws: WireError.truncatedPayload(field: "secret_files")) { _ = try decode(dropping(1)) }
        #expect(throws: WireError.truncatedPayload(field: "mounts")) { _ = try decode(dropping(2)) }
        #expect(throws: WireError.truncatedPayload(field: "filesystem_view")) { _ = try decode(dropping(3)) }
        #expect(throws: WireError.truncatedPayload(field: "pid_namespace")) { _ = try decode(dropping(4)) }
        #expect(throws: WireError.truncatedPayload(field: "seccomp_profile")) { _ = try decode(dropping(5)) }

        var unknown = bytes
        unknown[unknown.count - 5] = 2
        #expect(throws: WireError.invalidField(field: "seccomp_profile", reason: "2 is neither 0 (baseline) nor 1 (strict)")) {
            _ = try decode(unknown)
        }
        var notBool = bytes
        notBool[notBool.count - 4] = 7
        #expect(throws: WireError.invalidField(field: "pid_namespace", reason: "boolean byte 7 is neither 0 nor 1")) {
            _ = try decode(notBool)
        }
        // A byte after them starts the cgroup limits (see CgroupLimitsWireTests),
        // which then end too early.
        var longer = bytes
        longer.append(0)
        longer[16] &+= 1
        #expect(throws: WireError.truncatedPayload(field: "cgroup_limits.pids_max?")) { _ = try decode(longer) }
    }

    /// Descriptors to travel with a frame (pipes' read ends; closed with the set).
    func descriptors(_ count: Int) -> DescriptorSet {
        var raw: [Int32] = []
        for _ in 0..<count {
            var fds: [Int32] = [0, 0]
            _ = pipe(&fds)
            close(fds[1])
            raw.append(fds[0])
        }
        return DescriptorSet(adopting: raw)
    }
}

import Foundation
import IPCWire
import Testing

/// SpawnWorkload's cgroup limits and WorkloadSpawned's enforcement report: both
/// optional trailers (frames of earlier versions still decode), both strict.
@Suite struct CgroupLimitsWireTests {
    static let id = try! CellID("lim")

    static func decode<M: WireMessage>(_ bytes: [UInt8], as type: M.Type) throws -> M {
        try Frame.decode(bytes[...], received: DescriptorSet()).decode(as: M.self).message
    }

    /// `bytes` without its last `count` payload bytes (the header's length adjusted).
    static func dropping(_ count: Int, from bytes: [UInt8]) -> [UInt8] {
        var shorter = Array(bytes.dropLast(count))
        shorter[16] &-= UInt8(count)
        return shorter
    }

    static func spawn(_ limits: CgroupLimits) throws -> SpawnWorkload {
        try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], uid: 1, gid: 1, pidNamespace: true, cgroupLimits: limits)
    }

    /// Every combination of present and absent limits round-trips; the block is
    /// 1+8, 1+4, 1+4 bytes (each optional's flag, then its value).
    @Test(arguments: [
        (UInt64?.none, UInt32?.none, UInt32?.none), (64 << 20, nil, nil), (nil, 5, nil), (nil, nil, 50), (1 << 20, 1, 1),
        (1 << 52, 4_194_304, 102_400),
    ] as [(UInt64?, UInt32?, UInt32?)])
    func limitsRoundTrip(memory: UInt64?, pids: UInt32?, cpu: UInt32?) throws {
        let request = try Self.spawn(try CgroupLimits(memoryMaxBytes: memory, pidsMax: pids, cpuPercent: cpu))
        let bytes = Frame(request, requestID: 3).bytes
        #expect(try Self.decode(bytes, as: SpawnWorkload.self) == request)
        let withoutLimits = Frame(try Self.spawn(.unlimited), requestID: 3).bytes
        let blockSize = 3 + (memory == nil ? 0 : 8) + (pids == nil ? 0 : 4) + (cpu == nil ? 0 : 4)
        // No limits: the block is left out entirely (an older daemon accepts the frame).
        #expect(bytes.count == withoutLimits.count + (request.cgroupLimits.isEmpty ? 0 : blockSize))
    }

    /// A frame without the block (ending after `mounts`) decodes to no limits; an explicit all-absent block is refused: encoders never send one, and
    /// a decoder accepting two encodings of one message breaks the fuzz target's
    /// decode/encode round trip (it found exactly that).
    @Test func framesWithoutTheBlockMeanNoLimits() throws {
        let limited = try Self.spawn(try CgroupLimits(memoryMaxBytes: 32 << 20, pidsMax: 5, cpuPercent: 50))
        let bytes = Frame(limited, requestID: 1).bytes
        let previous = Self.dropping(3 + 8 + 4 + 4, from: bytes)
        #expect(try Self.decode(previous, as: SpawnWorkload.self) == (try Self.spawn(.unlimited)))
        var explicitNone = previous
        explicitNone += [0, 0, 0]
        explicitNone[16] &+= 3
        #expect(throws: WireError.invalidField(field: "cgroup_limits", reason: "present but empty (no limits are sent as no block)")) {
            _ = try Self.decode(explicitNone, as: SpawnWorkload.self)
        }
        // A partial block is truncated, not guessed.
        #expect(throws: WireError.self) { _ = try Self.decode(Self.dropping(1, from: bytes), as: SpawnWorkload.self) }
        var longer = bytes
        longer.append(0)
        longer[16] &+= 1
        #expect(throws: WireError.trailingBytes(count: 1)) { _ = try Self.decode(longer, as: SpawnWorkload.self) }
    }

    /// Values outside the ranges are refused by name, when built and when decoded.
    @Test func outOfRangeLimitsNameTheirField() throws {
        #expect(throws: WireError.invalidField(
            field: "cgroup_limits.memory_max", reason: "1048575 bytes is outside 1048576...4503599627370496 (1 MiB to 4 PiB)")) {
            _ = try CgroupLimits(memoryMaxBytes: (1 << 20) - 1)
        }
        #expect(throws: WireError.invalidField(field: "cgroup_limits.pids_max", reason: "0 is outside 1...4194304")) {
            _ = try CgroupLimits(pidsMax: 0)
        }
        #expect(throws: WireError.invalidField(field: "cgroup_limits.cpu_percent", reason: "0 is outside 1...102400")) {
            _ = try CgroupLimits(cpuPercent: 0)
        }
        #expect(throws: WireError.invalidField(field: "cgroup_limits.cpu_percent", reason: "102401 is outside 1...102400")) {
            _ = try CgroupLimits(cpuPercent: 102_401)
        }
        // On the wire: a valid frame with the cpu value patched to 0.
        var bytes = Frame(try Self.spawn(try CgroupLimits(cpuPercent: 50)), requestID: 1).bytes
        #expect(Array(bytes.suffix(4)) == [50, 0, 0, 0])
        bytes[bytes.count - 4] = 0
        #expect(throws: WireError.invalidField(field: "cgroup_limits.cpu_percent", reason: "0 is outside 1...102400")) {
            _ = try Self.decode(bytes, as: SpawnWorkload.self)
        }
    }

    /// The reply's report: absent when empty, entries in the order
    /// memory, pids, cpu, reasons only for not enforced ones and never empty.
    @Test func enforcementReportIsOptionalAndStrict() throws {
        let report = WorkloadSpawned(
            cellID: Self.id, pid: 9, uid: 1, gid: 1, confinement: ConfinementWireTests.layers,
            enforcement: [.init(.memory, .cgroupV2), .init(.pids, .cgroupV1), .init(.cpu, .notEnforced(reason: "no cpu controller"))])
        let bytes = Frame(report, requestID: 2).bytes
        #expect(try Self.decode(bytes, as: WorkloadSpawned.self) == report)
        #expect(report.notEnforced == [.init(.cpu, .notEnforced(reason: "no cpu controller"))])
        let plain = Frame(WorkloadSpawned(cellID: Self.id, pid: 9, uid: 1, gid: 1, confinement: ConfinementWireTests.layers), requestID: 2).bytes
        // 1 count + (1+1) + (1+1) + (1+1+4+17)
        #expect(bytes.count == plain.count + 1 + 2 + 2 + 23)
        #expect(try Self.decode(plain, as: WorkloadSpawned.self).enforcement.isEmpty)

        let payloadStart = bytes.count - (1 + 2 + 2 + 23)
        var unordered = bytes
        unordered[payloadStart + 1] = CgroupLimitKind.pids.rawValue
        #expect(throws: WireError.invalidField(field: "enforcement[1].limit", reason: "pids repeated or out of order (memory, pids, cpu)")) {
            _ = try Self.decode(unordered, as: WorkloadSpawned.self)
        }
        var badMechanism = bytes
        badMechanism[payloadStart + 2] = 7
        #expect(throws: WireError.invalidField(field: "enforcement[0].mechanism", reason: "7 is not 0 (not enforced), 1 (v1) or 2 (v2)")) {
            _ = try Self.decode(badMechanism, as: WorkloadSpawned.self)
        }
        var tooMany = bytes
        tooMany[payloadStart] = 4
        #expect(throws: WireError.invalidField(field: "enforcement", reason: "4 entries, expected 1-3 (none are sent as no list)")) {
            _ = try Self.decode(tooMany, as: WorkloadSpawned.self)
        }
        // The input the ipc-frame fuzzer found: an empty list after the last required field.
        var emptyList = Frame(WorkloadSpawned(cellID: Self.id, pid: 9, uid: 1, gid: 1, confinement: ConfinementWireTests.layers), requestID: 2).bytes
        emptyList.append(0)
        emptyList[16] &+= 1
        #expect(throws: WireError.invalidField(field: "enforcement", reason: "0 entries, expected 1-3 (none are sent as no list)")) {
            _ = try Self.decode(emptyList, as: WorkloadSpawned.self)
        }
        let emptyReason = WorkloadSpawned(cellID: Self.id, pid: 9, uid: 1, gid: 1, confinement: ConfinementWireTests.layers, enforcement: [.init(.cpu, .notEnforced(reason: ""))])
        #expect(throws: WireError.invalidField(field: "enforcement[0].reason", reason: "empty")) {
            _ = try Self.decode(Frame(emptyReason, requestID: 2).bytes, as: WorkloadSpawned.self)
        }
    }
}

/// The fuzz seeds for the new trailers are valid frames carrying them, so the
/// fuzzer starts from inputs that reach the new decoding paths.
@Suite struct NetnsdFuzzSeedTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/netnsd-messages").path

    static func decode(_ name: String) throws -> NetnsdFrame.Message {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(corpus)/\(name)")))
        let header = try FrameHeader.decode(bytes[...])
        return try NetnsdFrame.decode(header: header, payload: Array(bytes.dropFirst(FrameHeader.size)), descriptorCount: Int(header.descriptorCount))
    }

    @Test func cgroupSeedsDecodeWithTheirTrailers() throws {
        guard case .spawnWorkload(let spawn) = try Self.decode("spawn-cgroup-limits") else {
            Issue.record("not a SpawnWorkload")
            return
        }
        #expect(spawn.cgroupLimits == (try CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 32, cpuPercent: 50)))
        guard case .workloadSpawned(let spawned) = try Self.decode("spawned-enforcement") else {
            Issue.record("not a WorkloadSpawned")
            return
        }
        #expect(spawned.enforcement == [.init(.memory, .cgroupV2), .init(.pids, .cgroupV1), .init(.cpu, .notEnforced(reason: "no --cgroup-root"))])
    }

    @Test func confinementSeedsDecodeWithTheirFields() throws {
        guard case .spawnWorkload(let mounts) = try Self.decode("spawn-mounts"),
            case .spawnWorkload(let allocated) = try Self.decode("spawn-allocated-ids"),
            case .spawnWorkload(let hostTree) = try Self.decode("spawn-host-tree"),
            case .workloadSpawned(let spawned) = try Self.decode("spawned")
        else {
            Issue.record("a seed decodes to another message")
            return
        }
        #expect(mounts.mounts == [try BindMount(source: "/srv/data", target: "/data", writable: true),
                                  try BindMount(source: "/usr/share/doc", target: "/doc", writable: false)])
        #expect(allocated.uid == nil && allocated.gid == nil && allocated.pidNamespace && allocated.filesystemView)
        #expect(!hostTree.pidNamespace && !hostTree.filesystemView)
        #expect(spawned.confinement.map(\.name) == ConfinementLayer.names && spawned.layer("landlock")?.applied == false)
    }
}

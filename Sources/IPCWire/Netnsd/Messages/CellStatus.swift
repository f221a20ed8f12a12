/// One live cell in a `StatusReport`.
public struct CellStatus: Equatable, Sendable {
    /// A cell's state; a report lists live cells only.
    public enum State: UInt8, Sendable, Equatable {
        case ready = 0
    }

    /// The workload's phase: `parked` and `running` have a pid, `none` and `exited` have none.
    public enum Phase: UInt8, Sendable, Equatable, CaseIterable {
        case none = 0, parked = 1, running = 2, exited = 3
        public var name: String { "\(self)" }
        var hasProcess: Bool { self == .parked || self == .running }
    }

    public static let maxCgroupLeaves = 8
    public static let maxPathLength = 4096
    /// IFNAMSIZ − 1.
    public static let maxInterfaceLength = 15
    /// Every field at its smallest: id (4 + 1), state, age, owner, pid, phase, ids tag,
    /// confinement count, cgroup count, uplink and pin tags.
    static let minimumSize = 5 + 1 + 8 + 12 + 4 + 1 + 1 + 1 + 1 + 1 + 1

    public var cellID: CellID
    public var state: State
    public var ageMilliseconds: UInt64
    /// The connection that created it, as SO_PEERCRED reported it.
    public var ownerPID: Int32
    public var ownerUID: UInt32
    public var ownerGID: UInt32
    /// The workload's pid as the host sees it; 0 when it has none.
    public var workloadPID: Int32
    public var phase: Phase
    /// The uid/gid the workload runs as (nil before SpawnWorkload).
    public var workloadUID: UInt32?
    public var workloadGID: UInt32?
    /// The layers netnsd reported in WorkloadSpawned (empty before SpawnWorkload).
    public var confinement: [ConfinementLayer]
    /// The workload's cgroup leaves (paths).
    public var cgroupLeaves: [String]
    /// The uplink's host-side interface, nil without one.
    public var uplink: String?
    /// The netns pin (`--pin`), nil without one.
    public var pin: String?

    public init(
        cellID: CellID, state: State = .ready, ageMilliseconds: UInt64, ownerPID: Int32, ownerUID: UInt32, ownerGID: UInt32,
        workloadPID: Int32 = 0, phase: Phase = .none, workloadUID: UInt32? = nil, workloadGID: UInt32? = nil,
        confinement: [ConfinementLayer] = [], cgroupLeaves: [String] = [], uplink: String? = nil, pin: String? = nil
    ) {
        self.cellID = cellID
        self.state = state
        self.ageMilliseconds = ageMilliseconds
        self.ownerPID = ownerPID
        self.ownerUID = ownerUID
        self.ownerGID = ownerGID
        self.workloadPID = workloadPID
        self.phase = phase
        self.workloadUID = workloadUID
        self.workloadGID = workloadGID
        self.confinement = confinement
        self.cgroupLeaves = cgroupLeaves
        self.uplink = uplink
        self.pin = pin
    }

    public func layer(_ name: String) -> ConfinementLayer? { confinement.first { $0.name == name } }

    func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(state.rawValue)
        writer.write(ageMilliseconds)
        writer.write(ownerPID)
        writer.write(ownerUID)
        writer.write(ownerGID)
        writer.write(workloadPID)
        writer.write(phase.rawValue)
        IDPairCoding.write(uid: workloadUID, gid: workloadGID, to: &writer)
        writer.write(UInt8(truncatingIfNeeded: confinement.count))
        for layer in confinement { layer.encode(to: &writer) }
        writer.write(UInt8(truncatingIfNeeded: cgroupLeaves.count))
        for leaf in cgroupLeaves { writer.write(leaf) }
        writer.write(optional: uplink)
        writer.write(optional: pin)
    }

    init(from reader: inout WireReader, index: Int) throws(WireError) {
        let field = "cells[\(index)]"
        cellID = try CellIDCoding.read(&reader)
        let rawState: UInt8 = try reader.read("\(field).state")
        guard let state = State(rawValue: rawState) else { throw .invalidField(field: "\(field).state", reason: "\(rawState) is not 0 (ready)") }
        self.state = state
        ageMilliseconds = try reader.read("\(field).age_ms")
        ownerPID = try reader.read("\(field).owner_pid")
        guard ownerPID > 0 else { throw .invalidField(field: "\(field).owner_pid", reason: "must be positive") }
        ownerUID = try reader.read("\(field).owner_uid")
        ownerGID = try reader.read("\(field).owner_gid")
        workloadPID = try reader.read("\(field).workload_pid")
        let rawPhase: UInt8 = try reader.read("\(field).phase")
        guard let phase = Phase(rawValue: rawPhase) else { throw .invalidField(field: "\(field).phase", reason: "\(rawPhase) is not 0-3") }
        self.phase = phase
        guard workloadPID >= 0, (workloadPID > 0) == phase.hasProcess else {
            throw .invalidField(field: "\(field).workload_pid", reason: "\(workloadPID) with phase \(phase): parked/running need a pid > 0, none/exited 0")
        }
        (workloadUID, workloadGID) = try IDPairCoding.read(
            &reader, prefix: "\(field).", errorField: "\(field).ids", absent: "no workload", present: "the workload's uid and gid")
        // A spawned workload has its ids and its seven layers; a cell without one has neither.
        guard (workloadUID != nil) == (phase != .none) else {
            throw .invalidField(field: "\(field).ids", reason: "present exactly when the phase is not none")
        }
        let layers: UInt8 = try reader.read("\(field).confinement")
        let expected = phase == .none ? 0 : ConfinementLayer.names.count
        guard Int(layers) == expected else {
            throw .invalidField(field: "\(field).confinement", reason: "\(layers) layers, expected \(expected) with phase \(phase)")
        }
        var confinement: [ConfinementLayer] = []
        for layer in 0..<Int(layers) { confinement.append(try ConfinementLayer(from: &reader, index: layer)) }
        self.confinement = confinement
        let leaves: UInt8 = try reader.read("\(field).cgroups")
        guard Int(leaves) <= Self.maxCgroupLeaves else {
            throw .invalidField(field: "\(field).cgroups", reason: "\(leaves) leaves exceed \(Self.maxCgroupLeaves)")
        }
        var cgroupLeaves: [String] = []
        for leaf in 0..<Int(leaves) {
            let path = try reader.readString("\(field).cgroups[\(leaf)]", limit: Self.maxPathLength)
            guard path.hasPrefix("/") else { throw .invalidField(field: "\(field).cgroups[\(leaf)]", reason: "not an absolute path") }
            cgroupLeaves.append(path)
        }
        self.cgroupLeaves = cgroupLeaves
        uplink = try reader.readOptionalString("\(field).uplink")
        if let uplink, uplink.isEmpty || uplink.utf8.count > Self.maxInterfaceLength {
            throw .invalidField(field: "\(field).uplink", reason: "an interface name is 1-\(Self.maxInterfaceLength) bytes")
        }
        pin = try reader.readOptionalString("\(field).pin")
        if let pin, !pin.hasPrefix("/") || pin.utf8.count > Self.maxPathLength {
            throw .invalidField(field: "\(field).pin", reason: "not an absolute path of at most \(Self.maxPathLength) bytes")
        }
    }
}

import IPCWire
import Testing

/// SpawnWorkload's ids, PID namespace, filesystem view and mounts; WorkloadSpawned's
/// ids and confinement report: secure defaults, strict and symmetric coding.
@Suite struct ConfinementWireTests {
    static let id = try! CellID("conf")
    static let layers = ConfinementLayer.names.map { ConfinementLayer(name: $0, applied: true, detail: "ok") }

    static func decode<M: WireMessage>(_ bytes: [UInt8], as type: M.Type) throws -> M {
        try Frame.decode(bytes[...], received: DescriptorSet()).decode(as: M.self).message
    }

    static func spawn(uid: UInt32? = nil, gid: UInt32? = nil, filesystemView: Bool = true, mounts: [BindMount] = []) throws -> SpawnWorkload {
        try SpawnWorkload(cellID: id, path: "/bin/true", arguments: ["true"], uid: uid, gid: gid, filesystemView: filesystemView, mounts: mounts)
    }

    @Test func defaultsAreSecure() throws {
        let request = try Self.spawn()
        #expect(request.pidNamespace && request.filesystemView && request.mounts.isEmpty)
        #expect(request.uid == nil && request.gid == nil)
        #expect(try Self.decode(Frame(request, requestID: 1).bytes, as: SpawnWorkload.self) == request)
    }

    /// Both ids or neither: one alone is refused when built; on the wire a tag byte
    /// (0 allocate, 1 explicit + uid + gid) cannot express it, and other tags are refused.
    @Test func idsAreBothOrNeither() throws {
        #expect(throws: WireError.invalidField(field: "uid/gid", reason: "set both (explicit ids) or neither (the daemon allocates them)")) {
            _ = try Self.spawn(uid: 5)
        }
        #expect(throws: WireError.self) { _ = try Self.spawn(gid: 5) }
        let explicit = try Self.spawn(uid: 1000, gid: 1001)
        let explicitBytes = Frame(explicit, requestID: 1).bytes
        #expect(try Self.decode(explicitBytes, as: SpawnWorkload.self) == explicit)
        #expect(explicitBytes.count == Frame(try Self.spawn(), requestID: 1).bytes.count + 8)
        // The tag follows cell_id, path, argv, env, cwd.
        let tagOffset = FrameHeader.size + (4 + 4) + (4 + 9) + (4 + 4 + 4) + 4 + (4 + 1)
        #expect(explicitBytes[tagOffset] == 1)
        var badTag = explicitBytes
        badTag[tagOffset] = 2
        #expect(throws: WireError.invalidField(field: "uid/gid", reason: "ids tag 2 is neither 0 (allocate) nor 1 (explicit)")) {
            _ = try Self.decode(badTag, as: SpawnWorkload.self)
        }
    }

    @Test(arguments: [
        ("relative", "/t", "mounts.source", "must be absolute"), ("/s", "t", "mounts.target", "must be absolute"),
        ("/a/../etc", "/t", "mounts.source", "must not contain a '..' component"),
        ("/s", "/t/..", "mounts.target", "must not contain a '..' component"),
        ("/s,ro", "/t", "mounts.source", "must not contain NUL or ','"), ("/s", "/t\u{0}x", "mounts.target", "must not contain NUL or ','"),
        ("/s", "/", "mounts.target", "must not be /"), ("/s", "//", "mounts.target", "must not be /"),
    ])
    func badMountPathsAreRefused(source: String, target: String, field: String, reason: String) {
        #expect(throws: WireError.invalidField(field: field, reason: reason)) { _ = try BindMount(source: source, target: target, writable: false) }
    }

    @Test func mountListRules() throws {
        let data = try BindMount(source: "/srv/data", target: "/data", writable: true)
        let request = try Self.spawn(mounts: [data, try BindMount(source: "/srv/ro", target: "/ro", writable: false)])
        #expect(try Self.decode(Frame(request, requestID: 1).bytes, as: SpawnWorkload.self) == request)
        #expect(throws: WireError.invalidField(field: "mounts[1].target", reason: "'/data/' is already a target")) {
            _ = try Self.spawn(mounts: [data, try BindMount(source: "/other", target: "/data/", writable: false)])
        }
        #expect(throws: WireError.invalidField(field: "mounts", reason: "need the filesystem view (filesystem_view is off)")) {
            _ = try Self.spawn(filesystemView: false, mounts: [data])
        }
        let many = try (0...BindMount.maxCount).map { try BindMount(source: "/s", target: "/t\($0)", writable: false) }
        #expect(throws: WireError.invalidField(field: "mounts", reason: "65 entries exceed 64")) { _ = try Self.spawn(mounts: many) }
        // On the wire: a bad entry names its index; a count above the limit is refused before reading entries.
        var bytes = Frame(try Self.spawn(mounts: [try BindMount(source: "/s", target: "/t", writable: false)]), requestID: 1).bytes
        // The entry, then the (empty) secret file count.
        #expect(Array(bytes.suffix(4 + 2 + 4 + 2 + 1 + 1)) == [2, 0, 0, 0] + Array("/s".utf8) + [2, 0, 0, 0] + Array("/t".utf8) + [0, 0])
        bytes[bytes.count - 3] = UInt8(ascii: "/")
        #expect(throws: WireError.invalidField(field: "mounts[0].target", reason: "must not be /")) { _ = try Self.decode(bytes, as: SpawnWorkload.self) }
        bytes[bytes.count - 15] = 65
        #expect(throws: WireError.invalidField(field: "mounts", reason: "65 entries exceed 64")) { _ = try Self.decode(bytes, as: SpawnWorkload.self) }
    }

    /// The reply carries the ids and exactly the seven layers in order, each with a
    /// non-empty detail.
    @Test func confinementReportIsStrict() throws {
        let reply = WorkloadSpawned(cellID: Self.id, pid: 7, uid: 2_415_919_105, gid: 2_415_919_105, confinement: Self.layers)
        let bytes = Frame(reply, requestID: 1).bytes
        #expect(try Self.decode(bytes, as: WorkloadSpawned.self) == reply)
        #expect(reply.layer("landlock")?.detail == "ok")
        let swapped = WorkloadSpawned(cellID: Self.id, pid: 7, uid: 1, gid: 1, confinement: [Self.layers[1], Self.layers[0]] + Self.layers[2...])
        #expect(throws: WireError.invalidField(
            field: "confinement[0].name",
            reason: "'pid_namespace' where identity belongs (order: identity, pid_namespace, filesystem_view, capabilities, seccomp, landlock, new_session)")) {
            _ = try Self.decode(Frame(swapped, requestID: 1).bytes, as: WorkloadSpawned.self)
        }
        let short = WorkloadSpawned(cellID: Self.id, pid: 7, uid: 1, gid: 1, confinement: Array(Self.layers.dropLast()))
        #expect(throws: WireError.invalidField(field: "confinement", reason: "6 layers, expected 7")) {
            _ = try Self.decode(Frame(short, requestID: 1).bytes, as: WorkloadSpawned.self)
        }
        var empty = Self.layers
        empty[6].detail = ""
        #expect(throws: WireError.invalidField(field: "confinement[6].detail", reason: "empty")) {
            _ = try Self.decode(Frame(WorkloadSpawned(cellID: Self.id, pid: 7, uid: 1, gid: 1, confinement: empty), requestID: 1).bytes, as: WorkloadSpawned.self)
        }
    }
}

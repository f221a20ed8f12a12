/// A host path bound into the workload's filesystem view at `target`, read-only
/// unless `writable` (bubblewrap's `--ro-bind` / `--bind`). Validated when built
/// and when decoded; whether `source` exists is the daemon's check (before fork).
public struct BindMount: Equatable, Sendable {
    public static let maxCount = 64
    public static let maxPathLength = 4096

    public var source: String
    public var target: String
    public var writable: Bool

    /// `field` names the entry in errors, e.g. `mounts[2]`.
    public init(source: String, target: String, writable: Bool, field: String = "mounts") throws(WireError) {
        try Self.check(source, field: "\(field).source")
        try Self.check(target, field: "\(field).target")
        guard target.utf8.contains(where: { $0 != UInt8(ascii: "/") }) else {
            throw .invalidField(field: "\(field).target", reason: "must not be /")
        }
        self.source = source
        self.target = target
        self.writable = writable
    }

    /// Absolute, no `..` component (the daemon resolves nothing against a root the
    /// workload could shape), no NUL (C strings) and no `,` (mount option lists).
    static func check(_ path: String, field: String) throws(WireError) {
        guard path.hasPrefix("/") else { throw .invalidField(field: field, reason: "must be absolute") }
        guard path.utf8.count <= maxPathLength else { throw .invalidField(field: field, reason: "longer than \(maxPathLength) bytes") }
        guard !path.utf8.contains(0), !path.contains(",") else { throw .invalidField(field: field, reason: "must not contain NUL or ','") }
        guard !path.split(separator: "/").contains("..") else { throw .invalidField(field: field, reason: "must not contain a '..' component") }
    }

    /// Count and unique targets (the per-entry rules are checked by `init`).
    static func checkList(_ mounts: [BindMount]) throws(WireError) {
        guard mounts.count <= maxCount else { throw .invalidField(field: "mounts", reason: "\(mounts.count) entries exceed \(maxCount)") }
        var seen = Set<String>()
        for (index, mount) in mounts.enumerated() where !seen.insert(mount.normalizedTarget).inserted {
            throw .invalidField(field: "mounts[\(index)].target", reason: "'\(mount.target)' is already a target")
        }
    }

    /// The target without repeated or trailing slashes (`/a//b/` and `/a/b` are one target).
    public var normalizedTarget: String { "/" + target.split(separator: "/").joined(separator: "/") }

    func encode(to writer: inout WireWriter) {
        writer.write(source)
        writer.write(target)
        writer.write(writable)
    }

    init(from reader: inout WireReader, index: Int) throws(WireError) {
        let field = "mounts[\(index)]"
        let source = try reader.readString("\(field).source", limit: Self.maxPathLength)
        let target = try reader.readString("\(field).target", limit: Self.maxPathLength)
        let writable = try reader.readBool("\(field).writable")
        try self.init(source: source, target: target, writable: writable, field: field)
    }
}

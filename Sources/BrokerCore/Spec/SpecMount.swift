#if canImport(Glibc)
import Glibc
#endif

/// A host path bound into the workload's filesystem view (`mounts[i]` of the
/// spec, `--mount SRC:DST[:rw]`): read-only unless `writable`. Checked here so a
/// bad one is refused before any cell exists; netnsd checks again (it trusts no
/// client).
public struct SpecMount: Equatable, Sendable, CustomStringConvertible {
    public let source: String
    public let target: String
    public let writable: Bool

    /// `SRC:DST:ro` or `SRC:DST:rw`, the `--mount` form.
    public var description: String { "\(source):\(target):\(writable ? "rw" : "ro")" }

    /// The wire's limit on entries (IPCWire `BindMount`).
    public static let maxCount = 64

    public init(source: String, target: String, writable: Bool) {
        self.source = source
        self.target = target
        self.writable = writable
    }

    /// Validates one path: absolute, no `..` component, no NUL or ',' (the
    /// kernel's mount option separator); `field` and `value` name it in errors.
    static func path(_ path: String, field: String, value: String) throws(SpecError) -> String {
        guard path.hasPrefix("/") else { throw SpecError(field: field, value: value, problem: "is not an absolute path") }
        guard !path.split(separator: "/").contains("..") else { throw SpecError(field: field, value: value, problem: "has a '..' component") }
        guard !path.utf8.contains(0), !path.contains(",") else { throw SpecError(field: field, value: value, problem: "contains a NUL byte or ','") }
        return path
    }

    /// A validated mount: `source` must exist now (as the broker's invoker sees
    /// it), `target` must not be `/`.
    static func make(source: String, target: String, writable: Bool, sourceField: String, targetField: String, quote: (String) -> String) throws(SpecError) -> SpecMount {
        let source = try path(source, field: sourceField, value: quote(source))
        var info = stat()
        guard stat(source, &info) == 0 else {
            throw SpecError(field: sourceField, value: quote(source), problem: "does not exist (\(String(cString: strerror(errno))))")
        }
        let target = try path(target, field: targetField, value: quote(target))
        guard normalized(target) != "/" else { throw SpecError(field: targetField, value: quote(target), problem: "is the root: a mount cannot replace the whole view") }
        return SpecMount(source: source, target: target, writable: writable)
    }

    /// The list as a whole: at most `maxCount`, targets unique and none the workspace.
    static func checkList(_ mounts: [SpecMount], workspace: String?, listField: String, targetField: (Int) -> String) throws(SpecError) {
        guard mounts.count <= maxCount else { throw SpecError(field: listField, value: nil, problem: "has \(mounts.count) mounts, at most \(maxCount) allowed") }
        var seen: [String] = []
        for (index, mount) in mounts.enumerated() {
            let target = normalized(mount.target)
            let value = JSONValue.string(mount.target).excerpt
            guard !seen.contains(target) else { throw SpecError(field: targetField(index), value: value, problem: "is the target of an earlier mount") }
            if let workspace, normalized(workspace) == target {
                throw SpecError(field: targetField(index), value: value, problem: "is the workspace (set workspace to null to mount there)")
            }
            seen.append(target)
        }
    }

    /// `/a//b/` and `/a/./b` are `/a/b`: what the kernel would mount on.
    static func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

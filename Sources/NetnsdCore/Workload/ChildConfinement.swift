#if canImport(Glibc)
import Glibc
#endif
import CNetnsdShim
import IPCWire

/// The confinement the forked child applies (`cellos_netnsd_confinement`): the
/// view's steps, the Landlock rules and the bounding set's extent, as C memory
/// that stays valid until `withUnsafePointer`'s body returns (the child only reads it).
struct ChildConfinement {
    /// CAP_LAST_CAP of the running kernel, read once per daemon.
    static let lastCapability: Int32 = {
        guard let text = try? CgroupLeaf.read("/proc/sys/kernel/cap_last_cap"),
            let value = text.split(whereSeparator: \.isWhitespace).first.flatMap({ Int32($0) })
        else {
            return 63  // PR_CAPBSET_DROP of a number past the kernel's last is EINVAL, which the child ignores
        }
        return value
    }()

    var view: FilesystemView?
    var landlock: LandlockRules
    /// The requesting client, whose ids resolve the sources of its `mounts`.
    var client: PeerCredentials

    func withUnsafePointer<R>(_ body: (UnsafePointer<cellos_netnsd_confinement>) -> R) -> R {
        var strings: [UnsafeMutablePointer<CChar>?] = []
        defer { for pointer in strings { free(pointer) } }
        func keep(_ text: String) -> UnsafePointer<CChar>? {
            let copy = strdup(text)
            strings.append(copy)
            return UnsafePointer(copy)
        }
        let steps = (view?.steps ?? []).map { step in
            cellos_netnsd_view_step(
                op: Int32(step.op.rawValue), parent: keep(step.parent), name: keep(step.name), source: keep(step.source),
                attr: step.op == CELLOS_VIEW_SECRET ? step.size : step.attributes.rawValue, fd: step.fd)
        }
        let rules = landlock.rules.map { cellos_netnsd_landlock_rule(path: keep($0.path), access: $0.access) }
        let root = view == nil ? nil : keep(FilesystemView.mountPoint)
        let rootOptions = keep(FilesystemView.rootOptions)
        return steps.withUnsafeBufferPointer { stepBuffer in
            rules.withUnsafeBufferPointer { ruleBuffer in
                var confinement = cellos_netnsd_confinement(
                    root: root, root_options: rootOptions, steps: stepBuffer.baseAddress, nsteps: stepBuffer.count,
                    landlock_handled: landlock.handled, landlock_scoped: landlock.scoped, rules: ruleBuffer.baseAddress,
                    nrules: ruleBuffer.count, cap_last_cap: Self.lastCapability, client_uid: client.uid, client_gid: client.gid,
                    workload_uid: view?.owner.uid ?? 0, workload_gid: view?.owner.gid ?? 0)
                return body(&confinement)
            }
        }
    }
}

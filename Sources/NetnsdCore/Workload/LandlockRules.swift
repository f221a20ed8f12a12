#if canImport(Glibc)
import Glibc
#endif
import CNetnsdShim

/// The workload's Landlock domain, a second layer under the filesystem view:
/// read and execute anywhere it can see, write only where the view gives it
/// private or writable places (without a view: only the workspace), and from ABI 6
/// no signals to, and no abstract UNIX sockets of, processes outside the domain.
/// The rules are paths as the workload sees them; the child opens them O_PATH
/// after pivot_root (async-signal-safe) and builds the ruleset there, because
/// descriptors opened before the pivot would name the host's directories.
struct LandlockRules: Equatable {
    /// The kernel's Landlock ABI, read once per daemon (0: none).
    static let detectedABI = Int(cellos_netnsd_landlock_abi())

    // LANDLOCK_ACCESS_FS_* (linux/landlock.h, 6.12).
    static let execute: UInt64 = 1 << 0, writeFile: UInt64 = 1 << 1, readFile: UInt64 = 1 << 2, readDirectory: UInt64 = 1 << 3
    static let makeCharacter: UInt64 = 1 << 6, makeBlock: UInt64 = 1 << 11
    static let refer: UInt64 = 1 << 13, truncate: UInt64 = 1 << 14, ioctlDevice: UInt64 = 1 << 15
    // LANDLOCK_SCOPE_*.
    static let scopeAbstractUnixSocket: UInt64 = 1 << 0, scopeSignal: UInt64 = 1 << 1

    struct Rule: Equatable {
        var path: String
        var access: UInt64
    }

    let abi: Int
    let handled: UInt64
    let scoped: UInt64
    let rules: [Rule]

    /// `abi` 0 gives an empty ruleset: nothing is installed.
    init(abi: Int, view: FilesystemView?, workspace: String?) {
        self.abi = abi
        guard abi > 0 else {
            (handled, scoped, rules) = (0, 0, [])
            return
        }
        // Every filesystem right this ABI knows is handled (denied unless a rule grants it).
        let handled = (abi >= 5 ? Self.ioctlDevice << 1 : abi >= 3 ? Self.truncate << 1 : abi >= 2 ? Self.refer << 1 : 1 << 13) - 1
        self.handled = handled
        scoped = abi >= 6 ? Self.scopeSignal | Self.scopeAbstractUnixSocket : 0
        let fileAccess = (Self.writeFile | Self.readFile | Self.truncate | Self.ioctlDevice) & handled
        let directoryAccess = handled & ~(Self.makeCharacter | Self.makeBlock)
        var rules = [Rule(path: "/", access: Self.execute | Self.readFile | Self.readDirectory)]
        let directories = view?.writableDirectories ?? workspace.map { [FilesystemView.normalize($0)] } ?? []
        let files = view?.writableFiles ?? FilesystemView.deviceNodes.map { "/dev/\($0)" }.filter { access($0, F_OK) == 0 }
        rules += directories.map { Rule(path: $0, access: directoryAccess) }
        rules += files.map { Rule(path: $0, access: fileAccess) }
        self.rules = rules
    }

    var detail: String {
        guard abi > 0 else { return "not supported by this kernel" }
        return "ABI \(abi)" + (scoped != 0 ? ", signal and abstract unix socket scopes" : ", filesystem only (no scopes before ABI 6)")
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Where the broker looks for its helpers by default. `/proc/self/exe` is the
/// broker's real file (a symlink on PATH is already resolved); an installed broker
/// (PREFIX/bin) finds them in PREFIX/libexec/cellos, a build directory beside it.
public enum HelperDirectory {
    public static let installedRelativePath = "../libexec/cellos"

    public static func locate(executableDirectory: String = AuditRunner.executableDirectory()) -> String {
        let installed = normalized("\(executableDirectory)/\(installedRelativePath)")
        return access("\(installed)/cellos-dnsproxy", X_OK) == 0 ? installed : executableDirectory
    }

    /// `A/bin/../libexec/cellos` → `A/libexec/cellos`, for readable messages.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == ".." { if !parts.isEmpty { parts.removeLast() } } else if part != "." { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire
import NetnsdCore

/// The daemon's flags from `CELLOS_NETNSD_*` variables: `/etc/cellos/netnsd.conf`
/// is the unit's `EnvironmentFile=` (docs/deployment.md). Every daemon option
/// with a value or a switch belongs here (a test compares this with --help).
enum NetnsdSettings {
    static let file = SettingsFile(
        prefix: "CELLOS_NETNSD_",
        options: [
            "socket", "allow-uid", "allow-gid", "uplink-pool", "uplink-pool6", "uplink-netns", "cgroup-root", "workload-ids", "state-dir",
            "max-connections", "max-cells-per-connection", "max-cells", "log-format", "admin-uid", "admin-gid",
        ],
        flags: ["pin", "allow-root-workloads"])

    /// `arguments` after the environment's settings; a bad setting ends the process
    /// with status 64 (a usage error), naming the key.
    static func apply(to arguments: [String]) -> [String] {
        let pairs = ProcessEnvironment.current().filter { $0.key.hasPrefix(file.prefix) }.sorted { $0.key < $1.key }
        do {
            return try file.arguments(
                from: pairs.map { (key: $0.key, value: $0.value) }, commandLine: arguments, source: "environment (/etc/cellos/netnsd.conf)")
                + arguments
        } catch {
            LogWriter.write("\(error)", priority: .error, program: NetnsdRole.executableName)
            exit(64)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// `run`'s defaults from `/etc/cellos/broker.conf` (or the file `CELLOS_BROKER_CONFIG`
/// names): `CELLOS_BROKER_NETNSD_SOCKET=…` stands for `--netnsd-socket …`. Read by
/// the broker itself, so runs by hand and the cell units get the same defaults.
public enum BrokerSettings {
    public static let file = SettingsFile(
        prefix: "CELLOS_BROKER_", options: ["netnsd-socket", "user", "helpers-dir", "sign-key", "events", "event-source", "sink", "spool-dir", "spool-max-bytes", "timeout", "log-format"])
    public static let defaultPath = "/etc/cellos/broker.conf"

    /// The `--name value` pairs of `arguments` whose name is in `names`.
    static func only(_ names: [String], in arguments: [String]) -> [String] {
        stride(from: 0, to: arguments.count - 1, by: 2).flatMap { index in
            names.contains(String(arguments[index].dropFirst(2))) ? [arguments[index], arguments[index + 1]] : []
        }
    }

    /// `arguments` with the file's settings inserted after `run`; a missing default
    /// file is no error, a bad setting ends the process with status 64 naming it.
    public static func apply(to arguments: [String]) -> [String] {
        guard let command = arguments.first, command == "run" || command == "flush" else { return arguments }
        let named = ProcessEnvironment.current()["CELLOS_BROKER_CONFIG"]
        let path = named ?? defaultPath
        guard named != nil || access(path, F_OK) == 0 else { return arguments }
        do {
            let text = String(decoding: try FileInput.read(path: path, maxBytes: 1 << 20), as: UTF8.self)
            let pairs = try SettingsFile.parse(text, source: path)
            if let stray = pairs.first(where: { !$0.key.hasPrefix(file.prefix) }) {
                throw SettingsError.unknownKey(key: stray.key, source: path, known: (file.options + file.flags).map(file.key(for:)))
            }
            let rest = Array(arguments.dropFirst())
            var added = try file.arguments(from: pairs, commandLine: rest, source: path)
            // flush takes only the sink settings.
            if command == "flush" { added = Self.only(["sink", "spool-dir", "spool-max-bytes"], in: added) }
            return [command] + added + rest
        } catch {
            LogWriter.write("\(error)", priority: .error, program: BrokerRole.executableName)
            exit(64)
        }
    }
}

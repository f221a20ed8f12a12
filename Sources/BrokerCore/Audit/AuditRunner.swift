#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// `cellos-broker audit`: for each helper executable beside the broker, ask it for
/// `--print-capabilities`; for each running instance named by `--pid NAME=PID`,
/// read `/proc/<pid>/status` and compare.
public enum AuditRunner {
    public static let helpers = ["cellos-netnsd", "cellos-dnsproxy", "cellos-flowlog", "cellos-egressproxy"]

    /// The directory of the running executable (`/proc/self/exe`).
    public static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }

    /// Asks `path --print-capabilities`. A helper that fails or prints nothing
    /// parseable declares nothing, with a note saying why.
    public static func declared(executable path: String) -> DeclaredCapabilities {
        do {
            let result = try ProcessRunner.run([path, "--print-capabilities"])
            var declared = DeclaredCapabilities.parse(output: result.stdout)
            if result.timedOut {
                declared.note = "--print-capabilities did not finish; treated as declaring none"
                declared.mask = 0
            } else if result.exitStatus != 0 {
                let firstError = String(decoding: result.stderr.prefix(200), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
                declared = DeclaredCapabilities(
                    mask: 0,
                    note: "--print-capabilities exited \(result.exitStatus.map(String.init) ?? "by signal \(result.signal ?? 0)")"
                        + (firstError.isEmpty ? "" : " (\(firstError))") + "; treated as declaring none")
            }
            return declared
        } catch {
            return DeclaredCapabilities(mask: 0, note: "could not run: \(error); treated as declaring none")
        }
    }

    /// How to start a helper in a mode that can be inspected once set up (it
    /// reports READY=1 when done), for `audit --start`. Helpers without an entry
    /// need a running instance (`--pid`).
    public static let startArguments: [String: [String]] = [
        // A control socket in the broker's private 0700 directory: netnsd needs an
        // allowed client, but nobody (65534) cannot reach the socket there, so the
        // instance only sets itself up (capability drop included) and waits. Its
        // own state directory there, so it neither waits for the lock of a
        // running netnsd nor sweeps that one's cells.
        "cellos-netnsd": [
            "--socket", "\(HelperLaunch.directoryPlaceholder)/control", "--allow-uid", "65534",
            "--state-dir", "\(HelperLaunch.directoryPlaceholder)/state",
        ],
    ]

    /// Starts `path` with `arguments`, waits for READY=1, reads its status and stops it.
    public static func inspectStarted(executable path: String, arguments: [String], declared: DeclaredCapabilities, helper: String) -> CapabilityAudit {
        let supervisor: HelperSupervisor
        do {
            supervisor = try HelperSupervisor(
                launch: HelperLaunch(executable: path, arguments: arguments, environment: ["PATH": "/usr/bin:/bin"], readinessTimeoutMilliseconds: 5000),
                descriptors: DescriptorSet())
        } catch {
            return CapabilityAudit(helper: helper, declared: declared, statusNote: "could not start for inspection: \(error)")
        }
        let audit = inspect(helper: helper, declared: declared, pid: supervisor.pid)
        _ = supervisor.stop(graceMilliseconds: 2000)
        return audit
    }

    /// The audit of running process `pid`: its status, or why there is none.
    static func inspect(helper: String, declared: DeclaredCapabilities, pid: Int32) -> CapabilityAudit {
        do {
            let status = try status(pid: pid)
            var audit = CapabilityAudit(helper: helper, declared: declared, pid: pid, status: status)
            audit.dumpable = status.uids.count > 1 ? NonDumpable.ofProcess(pid: pid, effectiveUID: status.uids[1]) : nil
            return audit
        } catch {
            return CapabilityAudit(helper: helper, declared: declared, pid: pid, statusNote: error.description)
        }
    }

    public static func status(pid: Int32) throws(ProcessStatusError) -> ProcessStatus {
        try ProcessStatus.read(pid: pid)
    }

    /// Audits every helper found in `directory` plus any named in `pids` (NAME → PID).
    /// With `start`, helpers listed in `startArguments` that have no `--pid` are
    /// started, inspected once ready, and stopped.
    public static func run(directory: String, pids: [(name: String, pid: Int32)], start: Bool = false) -> [CapabilityAudit] {
        var names = helpers.filter { access("\(directory)/\($0)", X_OK) == 0 }
        for entry in pids where !names.contains(entry.name) { names.append(entry.name) }
        var audits: [CapabilityAudit] = []
        for name in names {
            let path = "\(directory)/\(name)"
            let declared = access(path, X_OK) == 0
                ? declared(executable: path)
                : DeclaredCapabilities(mask: 0, note: "no executable \(path); treated as declaring none")
            let running = pids.filter { $0.name == name }
            if running.isEmpty, start, let arguments = startArguments[name], access(path, X_OK) == 0 {
                audits.append(inspectStarted(executable: path, arguments: arguments, declared: declared, helper: name))
                continue
            }
            if running.isEmpty {
                audits.append(CapabilityAudit(helper: name, declared: declared, statusNote: "no running instance given (--pid \(name)=PID\(startArguments[name] != nil ? " or --start" : ""))"))
            }
            for entry in running { audits.append(inspect(helper: name, declared: declared, pid: entry.pid)) }
        }
        return audits
    }

    /// `NAME=PID` as given to `--pid`.
    public static func parsePIDArgument(_ text: String) throws(SpecError) -> (name: String, pid: Int32) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let pid = Int32(parts[1]), pid > 0 else {
            throw SpecError(field: "--pid", value: JSONValue.string(text).excerpt, problem: "is not NAME=PID (e.g. cellos-dnsproxy=1234)")
        }
        return (parts[0], pid)
    }
}

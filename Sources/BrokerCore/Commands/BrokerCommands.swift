#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// The logic behind the broker's subcommands that need no cell, so the thin
/// executable only parses flags and prints. Each returns what to print and the
/// exit status.
public enum BrokerCommands {
    public struct Outcome: Equatable, Sendable {
        public var stdout: String
        public var stderr: String
        public var status: Int32

        public init(stdout: String, stderr: String, status: Int32) {
            self.stdout = stdout
            self.stderr = stderr
            self.status = status
        }
    }

    /// Writes an outcome's text to fds 1 and 2.
    public static func write(_ outcome: Outcome) {
        try? FileOutput.writeAll(fd: 1, bytes: Array(outcome.stdout.utf8), context: "stdout")
        guard LogWriter.format == .journal else {
            try? FileOutput.writeAll(fd: 2, bytes: Array(outcome.stderr.utf8), context: "stderr")
            return
        }
        // journald names the program itself and wants each line's priority.
        for line in outcome.stderr.split(separator: "\n") {
            var text = Substring(line)
            if let colon = text.firstRange(of: ": "), text.hasPrefix(BrokerRole.executableName) { text = text[colon.upperBound...] }
            let priority: LogPriority = outcome.status != 0 ? .error : text.hasPrefix("warning: ") ? .warning : .info
            LogWriter.write(String(text), priority: priority, program: BrokerRole.executableName)
        }
    }

    /// `spec`: the spec from `path` (`-` for stdin) with the run shortcuts applied,
    /// printed with every default explicit; nil path means the embedded demo spec.
    public static func resolveSpec(path: String?, shortcuts: RunShortcuts) -> Outcome {
        do {
            return printed(try loadSpec(path: path, shortcuts: shortcuts))
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker: \(error)\n", status: BrokerExitCode.setupFailure)
        }
    }

    /// The spec as `spec` and `run --dry-run` print it.
    public static func printed(_ spec: CellSpec) -> Outcome {
        Outcome(stdout: spec.json.serialized() + "\n", stderr: "", status: 0)
    }

    /// The spec `spec`/`run` work on: from `path` (`-` for stdin), else the demo spec
    /// when no ARGV is given, else the defaults; the shortcuts applied on top.
    public static func loadSpec(path: String?, shortcuts: RunShortcuts) throws -> CellSpec {
        let base: CellSpec
        if let path {
            let bytes = try FileInput.read(path: path, maxBytes: JSONParser.defaultMaxBytes)
            base = try CellSpecDecoder.decode(bytes)
        } else if shortcuts.argv.isEmpty {
            base = DemoSpec.spec()
        } else {
            base = CellSpec.defaults(id: CellIDs.generate(), argv: [])
        }
        return try shortcuts.apply(to: base)
    }

    /// Reads a signing key as `run --sign-key` would, to refuse a bad one before anything runs.
    public static func loadSigner(path: String) throws -> EventSigner {
        EventSigner(privateKey: try KeyFiles.privateKey(contents: try KeyFiles.read(path: path), path: path))
    }

    /// `keygen --out PREFIX`: PREFIX (private, 0600) and PREFIX.pub.
    public static func keygen(prefix: String) -> Outcome {
        do {
            let keyID = try KeyFiles.generate(privatePath: prefix, publicPath: prefix + ".pub")
            return Outcome(stdout: "wrote \(prefix) and \(prefix).pub (key id \(keyID))\n", stderr: "", status: 0)
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker keygen: \(error)\n", status: BrokerExitCode.setupFailure)
        }
    }

    /// `verify --key PUBFILE EVENTS`.
    public static func verify(keyPath: String, eventsPath: String) -> Outcome {
        do {
            let key = try KeyFiles.publicKey(contents: try KeyFiles.read(path: keyPath), path: keyPath)
            let contents = try EventInput.read(eventsPath, maxBytes: 1 << 30)
            let result = EventFileVerification.check(contents, with: EventVerifier(publicKey: key))
            if case .verified = result { return Outcome(stdout: "\(eventsPath): \(result.description)\n", stderr: "", status: 0) }
            return Outcome(stdout: "", stderr: "\(eventsPath): \(result.description)\n", status: BrokerExitCode.checkFailed)
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker verify: \(error)\n", status: BrokerExitCode.setupFailure)
        }
    }

    /// `flush`: every remote sink's spool replayed (in order, up to `budget` ms each);
    /// status 0 when all are empty afterwards.
    public static func flush(setup: SinkSetup, budgetMilliseconds: Int64) -> Outcome {
        do {
            let writer = try setup.writer(signer: nil)
            try writer.checkSpools()
            let results = writer.flushSpools(budget: budgetMilliseconds)
            let text = results.map { "\($0.label): delivered \($0.delivered), \($0.left) left\n" }.joined()
            let left = results.contains { $0.left > 0 }
            return Outcome(stdout: left ? "" : text, stderr: left ? text : "", status: left ? BrokerExitCode.checkFailed : 0)
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker flush: \(error)\n", status: BrokerExitCode.setupFailure)
        }
    }

    /// `stamp`: wraps each helper JSON line of `inputPath` (`-`: stdin) into a
    /// CloudEvent for `cellID` from `helper`, signed when `signKeyPath` is given,
    /// written to `events` (`-`: stdout). The same path the broker's own helper
    /// events take, usable on saved helper output.
    public static func stamp(helper: String, cellID: String, signKeyPath: String?, inputPath: String, events: String) -> Outcome {
        do {
            let id = try CellIDs.validate(cellID, field: "--cell-id")
            let signer = try signKeyPath.map(loadSigner(path:))
            let writer = try EventWriter(destination: events, signer: signer)
            let wrapper = HelperEventWrapper(helper: helper, stamper: EventStamper(cellID: id))
            let input = try FileInput.read(path: inputPath, maxBytes: 1 << 30)
            for line in input.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                try writer.write(wrapper.wrap(line: Array(line)))
            }
            return Outcome(stdout: "", stderr: "", status: 0)
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker stamp: \(error)\n", status: BrokerExitCode.setupFailure)
        }
    }

    /// `self-check [--user UID:GID]`: drops privileges exactly as `run` does, then
    /// audits this process against the broker's declaration (no capabilities).
    public static func selfCheck(user: String?, json: Bool) -> Outcome {
        do {
            let target = try user.map { text throws(SpecError) in try PrivilegeDrop.Identity.parse(text) } ?? .implicitTarget
            let status = try PrivilegeDrop.apply(target: target)
            var audit = CapabilityAudit(helper: BrokerRole.executableName, declared: DeclaredCapabilities(mask: 0), pid: getpid(), status: status)
            audit.dumpable = NonDumpable.isDumpable
            let text = json ? AuditReport.json([audit]).serialized() + "\n" : AuditReport.table([audit])
            return Outcome(stdout: text, stderr: "", status: audit.holdsMoreThanDeclared ? BrokerExitCode.checkFailed : 0)
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker self-check: \(error)\n", status: BrokerExitCode.setupFailure)
        }
    }

    /// `audit [--json] [--pid NAME=PID]...`: non-zero when any helper holds more
    /// than it declares.
    /// `audit` without `--pid`/`--start`: what runs, found through netnsd's status (`LiveAudit`).
    public static func liveAudit(socket: String, json: Bool) -> Outcome {
        guard geteuid() == 0 else {
            return Outcome(
                stdout: "", stderr: "cellos-broker audit: auditing what runs needs root (the broker and helpers are non-dumpable: their /proc/<pid>/exe is root-only); use --pid NAME=PID otherwise\n",
                status: BrokerExitCode.setupFailure)
        }
        let result: LiveAudit.Result
        do { result = try LiveAudit.run(socket: socket) } catch {
            return Outcome(stdout: "", stderr: "cellos-broker audit: \(error)\n", status: BrokerExitCode.setupFailure)
        }
        let text = json ? LiveAudit.json(result).serialized() + "\n" : LiveAudit.table(result)
        return Outcome(stdout: text, stderr: "", status: result.failed ? BrokerExitCode.checkFailed : 0)
    }

    public static func audit(directory: String, pidArguments: [String], start: Bool = false, json: Bool) -> Outcome {
        var pids: [(name: String, pid: Int32)] = []
        do {
            for argument in pidArguments { pids.append(try AuditRunner.parsePIDArgument(argument)) }
        } catch {
            return Outcome(stdout: "", stderr: "cellos-broker audit: \(error)\n", status: BrokerExitCode.setupFailure)
        }
        let audits = AuditRunner.run(directory: directory, pids: pids, start: start)
        let failed = audits.contains { $0.failed }
        let text = json ? AuditReport.json(audits).serialized() + "\n" : AuditReport.table(audits)
        return Outcome(stdout: text, stderr: "", status: failed ? BrokerExitCode.checkFailed : 0)
    }
}

/// Where `summary` and `verify` read a trail: a file, `-` (standard input), or
/// `nats://HOST:PORT/SUBJECT[?credentials=FILE]` (JetStream, `JetStreamReader`).
public enum EventInput {
    public static func read(_ source: String, maxBytes: Int) throws -> [UInt8] {
        if source.hasPrefix("nats://") { return try JetStreamReader.read(source, maxBytes: maxBytes) }
        return try FileInput.read(path: source, maxBytes: maxBytes)
    }
}

/// Whole-file reads with a size cap (`-` is standard input).
public enum FileInput {
    struct TooLarge: Error, CustomStringConvertible {
        let path: String
        let limit: Int
        var description: String { "\(path) is larger than \(limit) bytes" }
    }

    public static func read(path: String, maxBytes: Int) throws -> [UInt8] {
        // Standard input is read through a duplicate, which this function owns.
        let fd = path == "-"
            ? OwnedFD(adopting: try systemCall("fcntl(stdin, F_DUPFD_CLOEXEC)") { fcntl(0, F_DUPFD_CLOEXEC, 3) })
            : try OwnedFD.open(path, O_RDONLY)
        let bytes: [UInt8]
        do { bytes = try fd.readAll(limit: maxBytes + 1) } catch { throw SystemCallError("read", errno: error.errno, context: path) }
        guard bytes.count <= maxBytes else { throw TooLarge(path: path, limit: maxBytes) }
        return bytes
    }
}

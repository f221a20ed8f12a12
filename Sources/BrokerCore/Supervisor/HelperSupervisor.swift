#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// How to start one helper.
public struct HelperLaunch: Sendable {
    /// Replaced in `arguments` by the path of the helper's events FIFO.
    public static let eventsPlaceholder = "{events}"
    /// Replaced anywhere in an argument by the helper's private directory (mode
    /// 0700, removed at stop), e.g. `{dir}/control` for a socket path.
    public static let directoryPlaceholder = "{dir}"

    public var executable: String
    /// argv[1...]; an element equal to `{events}` becomes the events path
    /// (e.g. `["--events", "{events}", "--cell-id", "c1"]`).
    public var arguments: [String]
    public var environment: [String: String]
    /// `LISTEN_FDNAMES` for the descriptors passed to `HelperSupervisor.start`.
    public var descriptorNames: [String]
    public var readinessTimeoutMilliseconds: Int

    public init(executable: String, arguments: [String], environment: [String: String] = [:], descriptorNames: [String] = [], readinessTimeoutMilliseconds: Int = 5000) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.descriptorNames = descriptorNames
        self.readinessTimeoutMilliseconds = readinessTimeoutMilliseconds
    }
}

extension String {
    /// Every occurrence of `target` replaced (FoundationEssentials-free).
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

/// How a helper ended, and whether the broker had to force it.
public struct HelperExit: Equatable, Sendable, CustomStringConvertible {
    public enum Termination: Equatable, Sendable {
        case exited(Int32)
        case signaled(Int32)
    }

    public var termination: Termination
    /// The last signal the broker sent (SIGTERM, or SIGKILL when the grace ran out
    /// or there was none); nil when the helper ended by itself.
    public var signalSent: Int32?

    public var description: String {
        let how = switch termination {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
        return signalSent.map { "\(how) (the broker sent \($0 == SIGKILL ? "SIGKILL" : "SIGTERM"))" } ?? how
    }
}

public enum HelperError: Error, Equatable, Sendable, CustomStringConvertible {
    case setup(String, SystemCallError)
    case spawn(String, SpawnError)
    /// Not ready in time or died first; the helper has been killed and reaped.
    case notReady(String, ReadinessError, HelperExit)

    public var description: String {
        switch self {
        case .setup(let helper, let error): "\(helper): \(error)"
        case .spawn(let helper, let error): "\(helper): \(error)"
        case .notReady(let helper, let error, let exit): "\(helper): \(error); it \(exit)"
        }
    }
}

/// One running helper: started with named descriptors through `ActivatedSpawn`
/// (socket activation + readiness pipe), waited on until `READY=1`, its event
/// lines collected from its FIFO, and stopped with SIGTERM, a bounded wait, then
/// SIGKILL. Not thread-safe: one owner polls it (the broker's run loop).
public final class HelperSupervisor {
    public let name: String
    public let pid: pid_t
    /// The FIFO the helper was told to write its events to (`{events}`).
    public let eventsPath: String
    private let fifo: EventFIFO
    private var splitter = LineSplitter(maxLine: HelperEventWrapper.maxLineBytes)
    private var exit: HelperExit?
    private var drained = false
    /// The started process (its readiness pipe) until `waitUntilReady()` consumed it.
    private var starting: SpawnedProcess?
    private let readinessTimeoutMilliseconds: Int
    /// When `requestStop()` sent SIGTERM (monotonic ms).
    private var terminateSentAt: Int64?

    /// Starts the helper and returns once it reported ready. `descriptors` are
    /// borrowed: the caller closes its copies when it likes.
    public convenience init(launch: HelperLaunch, descriptors: borrowing DescriptorSet) throws(HelperError) {
        try self.init(starting: launch, descriptors: descriptors)
        try waitUntilReady()
    }

    /// Starts the helper without waiting for it, so several can start at once;
    /// call `waitUntilReady()` before relying on it.
    public init(starting launch: HelperLaunch, descriptors: borrowing DescriptorSet) throws(HelperError) {
        name = String(launch.executable.split(separator: "/").last ?? Substring(launch.executable))
        let created: EventFIFO
        do { created = try EventFIFO() } catch { throw .setup(name, error) }
        let path = created.path
        let directory = created.directory
        eventsPath = path
        fifo = created
        let arguments = launch.arguments.map { argument in
            argument == HelperLaunch.eventsPlaceholder ? path : argument.replacingOccurrences(HelperLaunch.directoryPlaceholder, with: directory)
        }
        let process: SpawnedProcess
        do {
            // A helper must not outlive its broker (SIGKILL included). The death
            // signal follows the spawning thread: the broker spawns helpers only
            // from its main thread (CellRun.run, the audit), which lives as long as it.
            process = try ActivatedSpawn.spawn(
                executable: launch.executable, arguments: arguments, environment: launch.environment,
                names: launch.descriptorNames, descriptors: descriptors, diesWithParent: true)
        } catch {
            throw .spawn(name, error)
        }
        pid = process.pid
        readinessTimeoutMilliseconds = launch.readinessTimeoutMilliseconds
        starting = .some(process)
    }

    /// Returns once the helper wrote `READY=1`; a helper that ends first or is not
    /// ready in time is killed and reaped. Waiting twice is a no-op.
    public func waitUntilReady() throws(HelperError) {
        guard var process = starting.take() else { return }
        do {
            try process.waitUntilReady(timeoutMilliseconds: readinessTimeoutMilliseconds)
        } catch {
            let exit = Self.terminate(pid: pid, graceMilliseconds: 0)
            self.exit = exit
            throw .notReady(name, error, exit)
        }
    }

    deinit {
        if exit == nil { _ = Self.terminate(pid: pid, graceMilliseconds: 0) }
    }

    /// Event lines that arrived, waiting up to `timeoutMilliseconds` for the first.
    public func readLines(timeoutMilliseconds: Int) -> [[UInt8]] {
        guard !drained else { return [] }
        var lines: [[UInt8]] = []
        var poller = pollfd(fd: fifo.readEnd, events: Int16(POLLIN), revents: 0)
        var wait = Int32(clamping: timeoutMilliseconds)
        while retryingOnInterrupt({ poll(&poller, 1, wait) }) > 0 {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(fifo.readEnd, raw.baseAddress, raw.count) } }
            if count > 0 {
                lines += splitter.append(chunk[0..<count])
            } else {
                if count == 0 {
                    drained = true
                    lines += splitter.finish()
                }
                break
            }
            wait = 0
        }
        return lines
    }

    /// The helper's exit if it has ended (without waiting): how the broker notices
    /// a helper that died mid-run.
    public func exitIfEnded() -> HelperExit? {
        if let exit { return exit }
        var status: Int32 = 0
        guard retryingOnInterrupt({ waitpid(pid, &status, WNOHANG) }) == pid else { return nil }
        exit = HelperExit(termination: Self.termination(status), signalSent: terminateSentAt == nil ? nil : SIGTERM)
        return exit
    }

    /// Sends SIGTERM now without waiting, so several helpers wind down at once;
    /// `stop` then waits out the rest of the grace.
    public func requestStop() {
        guard exitIfEnded() == nil, terminateSentAt == nil else { return }
        kill(pid, SIGTERM)
        terminateSentAt = Monotonic.milliseconds()
    }

    /// Stops the helper (SIGTERM unless `requestStop()` sent it; SIGKILL after
    /// `graceMilliseconds` from then), reaps it and returns its exit with every
    /// event line it still wrote.
    public func stop(graceMilliseconds: Int) -> (exit: HelperExit, lines: [[UInt8]]) {
        let exit = exitIfEnded() ?? Self.terminate(pid: pid, graceMilliseconds: graceMilliseconds, terminateSentAt: terminateSentAt)
        self.exit = exit
        // Reaped, so no writer is left but ours: closing it lets the drain end at EOF.
        fifo.closeWriteEnd()
        var lines: [[UInt8]] = []
        while !drained { lines += readLines(timeoutMilliseconds: 1000) }
        return (exit, lines)
    }

    /// SIGTERM (unless sent at `terminateSentAt`), up to `graceMilliseconds` from
    /// then for it to end, then SIGKILL; always reaps.
    static func terminate(pid: pid_t, graceMilliseconds: Int, terminateSentAt: Int64? = nil) -> HelperExit {
        var status: Int32 = 0
        if retryingOnInterrupt({ waitpid(pid, &status, WNOHANG) }) == pid {
            return HelperExit(termination: termination(status), signalSent: terminateSentAt == nil ? nil : SIGTERM)
        }
        var sent = SIGKILL
        if graceMilliseconds > 0 {
            let sentAt = terminateSentAt ?? {
                kill(pid, SIGTERM)
                return Monotonic.milliseconds()
            }()
            sent = ExitWait.wait(for: pid, until: sentAt + Int64(graceMilliseconds)) ? SIGTERM : SIGKILL
        }
        if sent == SIGKILL { kill(pid, SIGKILL) }
        _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
        return HelperExit(termination: termination(status), signalSent: sent)
    }

    static func termination(_ status: Int32) -> HelperExit.Termination {
        status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CShim

/// Sending side of socket activation: start a helper with named descriptors at
/// 3, 4, ... and `LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES` set, plus the readiness
/// pipe (`CELLOS_NOTIFY_FD`, see `Readiness`) right after them. A child that does
/// not speak the readiness protocol simply never writes to it.
public enum ActivatedSpawn {
    /// Starts `executable` (an absolute path) with `arguments` (argv[1...]) and
    /// exactly `environment` (nothing is inherited implicitly). The descriptors in
    /// `descriptors` are borrowed: the parent keeps its copies and decides when
    /// they close. The child runs no Swift code before `execve` (see `cellos_spawn`).
    /// `diesWithParent`: the child gets SIGKILL when the calling thread exits
    /// (PR_SET_PDEATHSIG), so only pass it from a thread that lives as long as
    /// the child should (the broker's main thread).
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        names: [String], descriptors: borrowing DescriptorSet, diesWithParent: Bool = false
    ) throws(SpawnError) -> SpawnedProcess {
        guard executable.hasPrefix("/") else { throw .relativeExecutable(executable) }
        guard names.count == descriptors.count else {
            throw .nameCountMismatch(descriptors: descriptors.count, names: names.count)
        }
        guard names.count <= InheritedDescriptors.maxDescriptors else {
            throw .tooManyDescriptors(names.count)
        }
        for name in names where !DescriptorName.isValid(name) { throw .invalidName(name) }

        var env = environment.filter { !["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", Readiness.variable].contains($0.key) }
        if !names.isEmpty {
            env["LISTEN_FDS"] = String(names.count)
            env["LISTEN_FDNAMES"] = names.joined(separator: ":")
        }
        let passed = descriptors.withRawDescriptors { $0 }
        let notify: ReadinessPipe
        do { notify = try ReadinessPipe() } catch { throw .system(error) }
        env[Readiness.variable] = String(InheritedDescriptors.firstDescriptor + Int32(passed.count))
        let pid = try start(
            executable, arguments, env, passed + [notify.writeEnd.rawValue], listenPID: !names.isEmpty, diesWithParent: diesWithParent)
        return SpawnedProcess(pid: pid, readiness: ReadinessWaiter(readEnd: notify.closeWriteEnd(), pid: pid))
    }

    private static func start(
        _ executable: String, _ arguments: [String], _ env: [String: String], _ fds: [Int32], listenPID: Bool, diesWithParent: Bool
    ) throws(SpawnError) -> pid_t {
        let pid = withCStrings([executable] + arguments) { argv in
            withCStrings(env.map { "\($0.key)=\($0.value)" }.sorted()) { envp in
                fds.withUnsafeBufferPointer { buffer in
                    cellos_spawn(executable, argv, envp, buffer.baseAddress, buffer.count, listenPID ? 1 : 0, diesWithParent ? 1 : 0)
                }
            }
        }
        if pid < 0 { throw .exec(executable, SystemCallError("execve", context: executable)) }
        return pid
    }
}

/// A started helper: its pid and the parent's end of its readiness pipe.
public struct SpawnedProcess: ~Copyable {
    public let pid: pid_t
    public var readiness: ReadinessWaiter

    /// Waits for `READY=1` (see `ReadinessWaiter.wait`).
    public mutating func waitUntilReady(timeoutMilliseconds: Int) throws(ReadinessError) {
        try readiness.wait(timeoutMilliseconds: timeoutMilliseconds)
    }
}

public enum SpawnError: Error, Equatable, Sendable, CustomStringConvertible {
    case relativeExecutable(String)
    case nameCountMismatch(descriptors: Int, names: Int)
    case tooManyDescriptors(Int)
    case invalidName(String)
    case exec(String, SystemCallError)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .relativeExecutable(let path): "executable '\(path)' must be an absolute path"
        case .nameCountMismatch(let descriptors, let names): "\(names) names for \(descriptors) descriptors"
        case .tooManyDescriptors(let count): "\(count) descriptors exceed the limit of \(InheritedDescriptors.maxDescriptors)"
        case .invalidName(let name): "descriptor name '\(name)' \(DescriptorName.rule)"
        case .exec(let path, let error): "cannot start \(path): \(error)"
        case .system(let error): error.description
        }
    }
}

/// NULL-terminated `char *[]` for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

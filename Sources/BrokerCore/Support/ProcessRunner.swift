#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// Runs a short-lived command to completion with its output captured: how the
/// audit asks a helper for `--print-capabilities`. `posix_spawn` (no Swift code
/// in the child) with stdin from /dev/null and stdout/stderr on pipes; a command
/// still running at the deadline is killed.
public enum ProcessRunner {
    public struct Result: Equatable, Sendable {
        public var exitStatus: Int32?
        public var signal: Int32?
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var timedOut: Bool
    }

    public static let maxOutputBytes = 1 << 20

    public static func run(_ argv: [String], environment: [String] = ["PATH=/usr/bin:/bin"], timeoutMilliseconds: Int = 5000) throws(SystemCallError) -> Result {
        precondition(!argv.isEmpty && argv[0].hasPrefix("/"), "ProcessRunner needs an absolute executable path")
        var outPipe = try OwnedPipe()
        var errPipe = try OwnedPipe()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe.writeEnd.borrowedRawValue!, 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe.writeEnd.borrowedRawValue!, 2)

        var pid: pid_t = 0
        let spawned = withCStringArray(argv) { cArgv in
            withCStringArray(environment) { cEnv in posix_spawn(&pid, argv[0], &actions, nil, cArgv, cEnv) }
        }
        guard spawned == 0 else { throw SystemCallError("posix_spawn", errno: spawned, context: argv[0]) }
        // The child holds its copies: EOF on a read end now means the child closed it.
        outPipe.writeEnd.take()?.close()
        errPipe.writeEnd.take()?.close()
        let stdoutFD = outPipe.readEnd.borrowedRawValue!

        var result = Result(exitStatus: nil, signal: nil, stdout: [], stderr: [], timedOut: false)
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        var open = [stdoutFD, errPipe.readEnd.borrowedRawValue!]
        while !open.isEmpty {
            let left = deadline - Monotonic.milliseconds()
            if left <= 0 {
                result.timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var pollers = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = retryingOnInterrupt { poll(&pollers, nfds_t(pollers.count), Int32(clamping: left)) }
            if ready < 0 {
                let error = SystemCallError("poll")
                kill(pid, SIGKILL)
                _ = retryingOnInterrupt { waitpid(pid, nil, 0) }
                throw error
            }
            for poller in pollers where poller.revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(poller.fd, raw.baseAddress, raw.count) } }
                if count <= 0 {
                    open.removeAll { $0 == poller.fd }
                } else if poller.fd == stdoutFD {
                    if result.stdout.count < maxOutputBytes { result.stdout += chunk[0..<count] }
                } else if result.stderr.count < maxOutputBytes {
                    result.stderr += chunk[0..<count]
                }
            }
        }
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
        if status & 0x7F == 0 { result.exitStatus = (status >> 8) & 0xFF } else { result.signal = status & 0x7F }
        return result
    }
}

/// A NULL-terminated `char *[]` for the duration of `body`.
func withCStringArray<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}

import Foundation
import IPCWire

/// A real `nats-server` (Debian's package) with JetStream on a free loopback port
/// and a private store directory, for the event sink tests; `stop()`/`start()`
/// model an outage (same port, same store), and the value's end kills it and
/// removes the store. Spawned with `ActivatedSpawn` and reaped here (a
/// long-running Foundation `Process` parks a Dispatch worker in waitpid).
public final class NATSTestServer: @unchecked Sendable {
    public let port: UInt16
    public let storeDirectory: String
    /// A lab network namespace (`/run/netns/NAME`) whose loopback it listens on; nil: this one's.
    public let namespace: String?
    private var pid: pid_t?

    public static let executable = "/usr/sbin/nats-server"

    public init(namespace: String? = nil) throws {
        self.namespace = namespace
        // A lab namespace is fresh: its loopback has every port free.
        port = namespace == nil ? try Self.freeTCPPort() : 4222
        storeDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("cellos-nats-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: false)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: storeDirectory)
    }

    public var url: String { "nats://127.0.0.1:\(port)" }

    public func start() throws {
        guard pid == nil else { return }
        let server = [Self.executable, "-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDirectory]
        let command = namespace.map { ["/usr/bin/nsenter", "--net=\($0)", "--"] + server } ?? server
        pid = try ActivatedSpawn.spawn(
            executable: command[0], arguments: Array(command.dropFirst()), environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"],
            names: [], descriptors: DescriptorSet()
        ).pid
        for _ in 0..<100 {
            if try listening() { return }
            usleep(50_000)
        }
        stop()
        throw LabError("nats-server did not listen on 127.0.0.1:\(port)")
    }

    /// SIGTERM (the server flushes its store), SIGKILL after 5 s; reaped.
    public func stop() {
        guard let pid else { return }
        self.pid = nil
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<100 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    private func listening() throws -> Bool {
        guard let namespace else { return Self.accepts(port: port) }
        return !(try Shell.run(["nsenter", "--net=\(namespace)", "--", "ss", "-Hltn", "sport = :\(port)"]).stdout.isEmpty)
    }

    static func accepts(port: UInt16) -> Bool {
        let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard raw >= 0 else { return false }
        let owned = OwnedFD(adopting: raw)
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(owned.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A TCP port on 127.0.0.1 the kernel just handed out (bound to port 0, then released).
    public static func freeTCPPort() throws -> UInt16 {
        let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard raw >= 0 else { throw LabError("no free TCP port on 127.0.0.1") }
        let owned = OwnedFD(adopting: raw)
        var address = loopback(0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(owned.rawValue, $0, length) == 0 && getsockname(owned.rawValue, $0, &length) == 0 }
        }
        guard bound else { throw LabError("no free TCP port on 127.0.0.1") }
        return UInt16(bigEndian: address.sin_port)
    }

    static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return address
    }
}

/// A lab fixture that could not be set up.
public struct LabError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The PyPI-side tools of the sink tests (`scripts/deps.sh test` installs the venv):
/// `Tests/Support/python/*.py` run with `CELLOS_TEST_PYTHON`.
public enum TestPython {
    public static var interpreter: String { ProcessInfo.processInfo.environment["CELLOS_TEST_PYTHON"] ?? "/opt/cellos-test-venv/bin/python3" }

    /// `Tests/Support/python/NAME` in this checkout.
    public static func script(_ name: String, file: String = #filePath) -> String {
        URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Support/python/\(name)").path
    }

    /// `prefix`: e.g. `ip netns exec NAME` to run inside a lab namespace.
    public static func run(_ name: String, _ arguments: [String], input: String? = nil, prefix: [String] = [], file: String = #filePath) throws -> CommandResult {
        try Shell.run(prefix + [interpreter, script(name, file: file)] + arguments, input: input)
    }
}

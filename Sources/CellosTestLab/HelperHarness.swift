import Foundation
import IPCWire

public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A capability-free helper (`cellos-dnsproxy`, `cellos-egressproxy`) started the way the broker starts it (`ActivatedSpawn`, with
/// the readiness pipe), by default as uid/gid 65534 with every capability dropped
/// (setpriv), its standard error captured in a file and its events in another.
public final class RunningHelper {
    public let pid: pid_t
    public let directory: URL
    public var eventsPath: String { directory.appendingPathComponent("events.jsonl").path }
    public var stderrPath: String { directory.appendingPathComponent("stderr.txt").path }
    public private(set) var exitStatus: Int32?

    /// Starts the proxy with `arguments` (plus `--events`), handing it `descriptors`
    /// named `names`, and waits for READY=1. `wrapper` (e.g. `prlimit --nofile=24 --`)
    /// runs just before the proxy and execs it in place.
    public init(binary: String, _ arguments: [String], names: [String] = [], descriptors: borrowing DescriptorSet = DescriptorSet(),
                asNobody: Bool = true, wrapper: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(binary)-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory.appendingPathComponent("events.jsonl").path, contents: nil)
        FileManager.default.createFile(atPath: directory.appendingPathComponent("stderr.txt").path, contents: nil)
        if asNobody {
            for path in [directory.path, directory.appendingPathComponent("events.jsonl").path] { chown(path, 65534, 65534) }
        }
        let proxy = try BuiltProducts.path(of: binary)
        let drop = asNobody
            ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
            : []
        // sh and setpriv exec in place, so the pid (and LISTEN_PID) stays the proxy's.
        let script = #"f="$1"; shift; exec 2>>"$f"; exec "$@""#
        var spawned = try ActivatedSpawn.spawn(
            executable: "/bin/sh",
            arguments: ["-c", script, "sh", directory.appendingPathComponent("stderr.txt").path] + drop + wrapper + [proxy]
                + arguments + ["--events", directory.appendingPathComponent("events.jsonl").path],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], names: names, descriptors: descriptors)
        pid = spawned.pid
        do {
            try spawned.waitUntilReady(timeoutMilliseconds: 5000)
        } catch {
            _ = try? stop()
            throw HarnessError("proxy not ready: \(error); stderr: \(stderr)")
        }
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// SIGTERM, then waits (SIGKILL after 5 s); returns the exit status.
    @discardableResult
    public func stop() throws -> Int32 {
        if let exitStatus { return exitStatus }
        kill(pid, SIGTERM)
        let status = try Self.wait(pid, seconds: 5)
        exitStatus = status
        return status
    }

    /// Waits for an exit without signalling (for a proxy that should fail by itself).
    public func waitForExit() throws -> Int32 {
        if let exitStatus { return exitStatus }
        let status = try Self.wait(pid, seconds: 5)
        exitStatus = status
        return status
    }

    private static func wait(_ pid: pid_t, seconds: Int) throws -> Int32 {
        var status: Int32 = 0
        for _ in 0 ..< seconds * 100 {
            if waitpid(pid, &status, WNOHANG) == pid { return (status >> 8) & 0xFF }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        throw HarnessError("proxy \(pid) did not exit")
    }

    /// The event lines written so far, decoded.
    public func events() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: eventsPath, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError("event is not an object: \(line)")
            }
            return object
        }
    }

    /// Polls until `count` events were written (the writer runs on its own thread).
    public func waitForEvents(_ count: Int) throws -> [[String: Any]] {
        for _ in 0 ..< 300 {
            let current = try events()
            if current.count >= count { return current }
            usleep(10_000)
        }
        return try events()
    }
}

/// dnsmasq as the real upstream: answers `allowed.test` and below with `address`,
/// logs every query it receives to a file. Started with `ActivatedSpawn` and reaped
/// here: a long-running Foundation `Process` parks a Dispatch worker in waitpid, and on
/// a 2-core machine that starves the workers `Shell.run` needs for kdig.
public final class DnsmasqUpstream {
    public let port: UInt16
    public let pid: pid_t
    public let logPath: String
    private var running = true

    /// `address` is what `allowed.test` and the names below it resolve to.
    public init(address: String = "192.0.2.10") throws {
        port = try FreePort.udp()
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("dnsmasq-\(UUID().uuidString).log").path
        let arguments = [
            "--no-daemon", "--port=\(port)", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
            "--no-hosts", "--conf-file=/dev/null", "--user=root", "--pid-file=", "--address=/allowed.test/\(address)",
            "--log-queries", "--log-facility=\(logPath)",
        ]
        pid = try ActivatedSpawn.spawn(
            executable: "/usr/sbin/dnsmasq", arguments: arguments, environment: ["PATH": "/usr/sbin:/usr/bin"],
            names: [], descriptors: DescriptorSet()).pid
        // Ready once it answers.
        for _ in 0 ..< 50 {
            if let answer = try? Kdig.query("probe.allowed.test", port: port, timeout: 1), answer.status == "NOERROR" { return }
            usleep(50_000)
        }
        stop()
        throw HarnessError("dnsmasq did not start on port \(port)")
    }

    deinit {
        stop()
        unlink(logPath)
    }

    public func stop() {
        guard running else { return }
        running = false
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// kdig over UDP (or TCP), its output reduced to what the tests check.
public struct KdigAnswer {
    public let status: String?
    public let answers: [String]
    public let questionLine: String?
    public let flags: String?
    public let output: String
}

public enum Kdig {
    public static func query(
        _ name: String, type: String = "A", port: UInt16, tcp: Bool = false, edns: Bool = false, timeout: Int = 2
    ) throws -> KdigAnswer {
        var arguments = ["kdig", "@127.0.0.1", "-p", String(port), "+timeout=\(timeout)", "+retry=0", name, type]
        if tcp { arguments.insert("+tcp", at: 1) }
        if edns { arguments.insert("+edns", at: 1) }
        let result = try Shell.run(arguments)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let status = lines.first(where: { $0.contains("status: ") }).flatMap { line in
            line.components(separatedBy: "status: ").last?.components(separatedBy: ";").first
        }
        let flags = lines.first(where: { $0.hasPrefix(";; Flags:") })
        var answers: [String] = []
        var inAnswer = false
        var question: String?
        for (index, line) in lines.enumerated() {
            if line.hasPrefix(";; QUESTION SECTION:"), index + 1 < lines.count { question = lines[index + 1] }
            if line.hasPrefix(";; ANSWER SECTION:") { inAnswer = true; continue }
            if inAnswer {
                if line.isEmpty || line.hasPrefix(";;") { inAnswer = false; continue }
                answers.append(line)
            }
        }
        return KdigAnswer(status: status, answers: answers, questionLine: question, flags: flags, output: result.stdout + result.stderr)
    }
}

/// A UDP socket on 127.0.0.1 driven by the test: a silent or scripted upstream, or a raw client.
public final class TestUDPSocket {
    private let owned: OwnedFD
    public var fd: Int32 { owned.rawValue }
    public let port: UInt16

    public init() throws {
        let raw = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard raw >= 0 else { throw HarnessError("socket: errno \(errno)") }
        let owned = OwnedFD(adopting: raw)
        let fd = owned.rawValue
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind: errno \(errno)") }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: local.sin_port)
        self.owned = owned
    }

    /// Receives one datagram within `milliseconds` (nil if none), with its source port.
    public func receive(milliseconds: Int32 = 2000) -> (bytes: [UInt8], port: UInt16)? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var source = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer[..<count]), UInt16(bigEndian: source.sin_port))
    }

    public func send(_ bytes: [UInt8], toPort port: UInt16) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}

public enum FreePort {
    /// A port number free for UDP and TCP on 127.0.0.1 just now.
    public static func udp() throws -> UInt16 {
        for _ in 0 ..< 20 {
            let probe = try TestUDPSocket()
            let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard raw >= 0 else { continue }
            let owned = OwnedFD(adopting: raw)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = probe.port.bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(owned.rawValue, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return probe.port }
        }
        throw HarnessError("no free port")
    }
}

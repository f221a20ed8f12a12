import Foundation
import IPCWire

/// The "internet" side of the egress proxy tests: `openssl s_server -www` with a
/// self-signed certificate for several names (SAN), generated into a temporary
/// directory, and a plain HTTP server (python3 http.server) on a second port.
/// Both on `host` (loopback, or an address inside a lab namespace when started
/// through `prefix`, e.g. `ip netns exec NAME`). Everything is removed on deinit.
public final class OriginServers {
    public let tlsPort: UInt16
    public let httpPort: UInt16
    public let directory: URL
    private var pids: [pid_t] = []

    public init(names: [String], host: String = "127.0.0.1", prefix: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("origin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        tlsPort = try FreePort.udp()
        httpPort = try FreePort.udp()
        let key = directory.appendingPathComponent("key.pem").path
        let cert = directory.appendingPathComponent("cert.pem").path
        let san = names.map { "DNS:\($0)" }.joined(separator: ",")
        do {
            try Shell.check(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=\(names.first ?? "origin")", "-addext", "subjectAltName=\(san)"])
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("www"), withIntermediateDirectories: true)
            try Data("hello from the origin\n".utf8).write(to: directory.appendingPathComponent("www/index.html"))
            try start(prefix + ["openssl", "s_server", "-accept", "\(host):\(tlsPort)", "-cert", cert, "-key", key, "-www", "-quiet"])
            try start(prefix + ["python3", "-m", "http.server", "--bind", host, "--directory", directory.appendingPathComponent("www").path, String(httpPort)])
            try waitForListening(host: host, ports: [tlsPort, httpPort], prefix: prefix)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    public func stop() {
        for pid in pids {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        pids = []
        try? FileManager.default.removeItem(at: directory)
    }

    private func start(_ arguments: [String]) throws {
        let script = #"exec >/dev/null 2>&1 </dev/null; exec "$@""#
        let spawned = try ActivatedSpawn.spawn(
            executable: "/bin/sh", arguments: ["-c", script, "sh"] + arguments,
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], names: [], descriptors: DescriptorSet())
        pids.append(spawned.pid)
    }

    private func waitForListening(host: String, ports: [UInt16], prefix: [String]) throws {
        for _ in 0 ..< 100 {
            let listening = try Shell.run(prefix + ["ss", "-Hltn"]).stdout
            if ports.allSatisfy({ listening.contains("\(host):\($0) ") }) { return }
            usleep(50_000)
        }
        throw HarnessError("origin servers did not listen on \(host):\(ports)")
    }
}

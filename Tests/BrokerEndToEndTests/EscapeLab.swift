import CellosTestLab
import Foundation
import IPCWire
import Testing

/// What the escape suite adds to `CellLab`: attacks run as default cells, the host's
/// view of the processes involved, and host-side listeners an escape would reach.

/// One attack's run: the cell's events and output, and its `ATTACK` line.
struct AttackRun {
    let run: CellLab.Run
    let name: String

    var output: String { run.result.stdout }
    /// `ATTACK <name> ESCAPED|blocked <detail>`, nil when the attack never got that far.
    var line: String? { output.split(separator: "\n").map(String.init).last { $0.hasPrefix("ATTACK \(name) ") } }
    var blocked: Bool { line?.hasPrefix("ATTACK \(name) blocked") == true }
    /// The line, for an expectation that prints it (and not the whole run) when it fails.
    var verdict: String { line ?? "no ATTACK line" }
    /// Lines the attack printed with this prefix (`SEEN`, `LEAK`, `PROBE`, …).
    func lines(_ prefix: String) -> [String] { output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix + " ") } }
    var summary: String { "\(line ?? "no ATTACK line") | stdout: \(output.suffix(2000)) | stderr: \(run.result.stderr.suffix(1000))" }
}

/// Records an issue unless the attack reported `blocked`, with its line and output
/// (an expectation on the run itself would print all of it, events included).
func expectBlocked(_ attack: AttackRun, sourceLocation: SourceLocation = #_sourceLocation) {
    let verdict = attack.verdict
    // In the log also when it passes: which layer answered (EPERM, ENOENT, not visible).
    print("EscapeTests: \(verdict)")
    #expect(verdict.hasPrefix("ATTACK \(attack.name) blocked "), "\(attack.summary)", sourceLocation: sourceLocation)
}

extension CellLab {
    static let attacks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Attacks")

    /// `python3 -c BOOTSTRAP N CHUNK… JSON`: common.py + NAME.py travel in argv, so no
    /// attack depends on a mount (a feature under test). netnsd takes argv entries of at
    /// most 4096 bytes, hence the chunks the bootstrap joins; the JSON is last.
    static func attackArgv(_ name: String, _ arguments: [String: Any]) throws -> [String] {
        let source = try ["common", name].map { try String(contentsOf: attacks.appendingPathComponent("\($0).py"), encoding: .utf8) }
        let chunks = Array(source.joined(separator: "\n").utf8).chunks(of: 4000).map { String(decoding: $0, as: UTF8.self) }
        let json = String(data: try JSONSerialization.data(withJSONObject: arguments, options: [.sortedKeys]), encoding: .utf8)!
        let bootstrap = #"import sys; exec(compile("".join(sys.argv[2:2 + int(sys.argv[1])]), "attack", "exec"))"#
        return ["python3", "-c", bootstrap, "\(chunks.count)"] + chunks + [json]
    }

    /// The attack in a default cell: `cellos-broker run --id ID -- python3 -c …`, nothing else set.
    func attack(_ name: String, id: String, _ arguments: [String: Any] = [:]) throws -> AttackRun {
        AttackRun(run: try broker(["--id", id, "--"] + Self.attackArgv(name, arguments)), name: name)
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements (UTF-8 bytes here: the attacks are ASCII).
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// A fresh cell id and a token for names on the host (files, markers), unique across
/// the engineers' concurrent test runs on this machine.
func uniqueName(_ prefix: String) -> String { "\(prefix)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))" }

/// A process as the host's /proc shows it: the test's side of the evidence.
struct HostProcess: Sendable {
    let pid: pid_t
    let comm: String
    let argv: [String]

    static func read(_ pid: pid_t) -> HostProcess? {
        // Foundation reads /proc files to their end (stat calls them empty).
        guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return HostProcess(
            pid: pid, comm: comm.trimmingCharacters(in: .whitespacesAndNewlines),
            argv: cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
    }

    static func all() -> [HostProcess] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }.compactMap(read)
    }

    /// cellos-dnsproxy/-flowlog (`--cell-id ID`) or cellos-broker (`--id ID`) of cell `id`.
    func serves(cell id: String) -> Bool {
        ["cellos-dnsproxy", "cellos-flowlog", "cellos-broker"].contains(comm)
            && zip(argv, argv.dropFirst()).contains { ($0 == "--cell-id" || $0 == "--id") && $1 == id }
    }

    /// A workload python carrying `marker` in its argv (the broker's argv has it too,
    /// hence the comm).
    func isWorkload(marked marker: String) -> Bool { comm.hasPrefix("python3") && argv.contains { $0.contains(marker) } }

    /// `/proc/<pid>/status` as fields, empty once the process is gone.
    static func status(_ pid: pid_t) -> [String: String] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return Dictionary(text.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }, uniquingKeysWith: { first, _ in first })
    }
}

/// Watches, from the host, the helpers and brokers of some cells and the workloads
/// carrying some markers while a cell runs: whether each was ever seen stopped or
/// traced, and the workload's status and user namespace. A stopped one is resumed at
/// once, so an attack that succeeds fails the test instead of hanging it.
final class HostWatch: @unchecked Sendable {
    struct Sighting: Sendable {
        let process: HostProcess
        var stopped = false
        var traced = false
        var status: [String: String] = [:]
        var userNamespace: String?
    }

    private let cells: [String]
    private let markers: [String]
    private let lock = NSLock()
    private var sightings: [pid_t: Sighting] = [:]
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    private init(cells: [String], markers: [String]) {
        self.cells = cells
        self.markers = markers
        Thread { [self] in loop() }.start()
    }

    private func loop() {
        var round = 0
        while lock.withLock({ running }) {
            // A full scan is dearer than sampling known pids: every 50 ms.
            if round % 5 == 0 {
                for process in HostProcess.all() where cells.contains(where: process.serves(cell:)) || markers.contains(where: process.isWorkload(marked:)) {
                    lock.withLock { if sightings[process.pid] == nil { sightings[process.pid] = Sighting(process: process) } }
                }
            }
            for pid in lock.withLock({ Array(sightings.keys) }) { sample(pid) }
            round += 1
            usleep(10_000)
        }
        done.signal()
    }

    private func sample(_ pid: pid_t) {
        let status = HostProcess.status(pid)
        guard let state = status["State"] else { return }
        let stopped = state.hasPrefix("T") || state.hasPrefix("t")
        if stopped { kill(pid, SIGCONT) }
        let userNamespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/user")
        let traced = status["TracerPid"].map { $0 != "0" } ?? false
        lock.withLock {
            guard var sighting = sightings[pid] else { return }
            sighting.stopped = sighting.stopped || stopped
            sighting.traced = sighting.traced || traced
            if sighting.status.isEmpty { sighting.status = status }
            if let userNamespace { sighting.userNamespace = userNamespace }
            sightings[pid] = sighting
        }
    }

    /// Watches while `body` runs (a cell, typically) and returns what it saw; the
    /// watch ends also when `body` throws.
    static func during<T>(cells: [String], markers: [String] = [], _ body: () throws -> T) throws -> (T, [Sighting]) {
        let watch = HostWatch(cells: cells, markers: markers)
        let result: T
        do {
            result = try body()
        } catch {
            _ = watch.finish()
            throw error
        }
        return (result, watch.finish())
    }

    /// Ends the watch and returns what it saw.
    private func finish() -> [Sighting] {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { Array(sightings.values) }
    }
}

/// A second cell running beside the attacker: `sleep` in python, its argv marked,
/// started through the same broker and netnsd. `stop` ends it (SIGTERM to its broker).
final class NeighbourCell {
    let id = uniqueName("esc-nb")
    let marker = uniqueName("neighbour")
    private let broker: Process
    /// Host pids of its broker, helpers and workload, once all are running.
    private(set) var pids: [pid_t] = []

    init(in cell: CellLab) throws {
        broker = try Shell.start([
            "ip", "netns", "exec", cell.host.name, try BuiltProducts.path(of: "cellos-broker"), "run", "--netnsd-socket", cell.socket,
            "--id", id, "--", "python3", "-c", "import time; time.sleep(60)", marker,
        ])
        for _ in 0..<200 {
            let found = HostProcess.all().filter { $0.serves(cell: id) || $0.isWorkload(marked: marker) }
            if Set(found.map(\.comm)) == ["cellos-broker", "cellos-dnsproxy", "cellos-flowlog", "python3"] {
                pids = found.map(\.pid)
                return
            }
            usleep(50_000)
        }
        stop()
        throw NotRunning(id: id)
    }

    struct NotRunning: Error, CustomStringConvertible {
        let id: String
        var description: String { "neighbour cell \(id): broker, helpers and workload not all running within 10 s" }
    }

    /// Still running: none of its processes was stopped or killed by the attacker.
    func allRunning() -> Bool {
        pids.allSatisfy { pid in HostProcess.status(pid)["State"].map { !$0.hasPrefix("T") && !$0.hasPrefix("Z") } ?? false }
    }

    func stop() {
        for pid in pids { kill(pid, SIGCONT) }
        kill(broker.processIdentifier, SIGTERM)
        broker.waitUntilExit()
    }
}

/// A `CellLab` with a `NeighbourCell` running in it for the whole of `body`.
func withNeighbourCell(_ body: (CellLab, NeighbourCell) throws -> Void) throws {
    try withCellLab { cell in
        let neighbour = try NeighbourCell(in: cell)
        defer { neighbour.stop() }
        try body(cell, neighbour)
    }
}

/// A UDP socket on 0.0.0.0 in the lab's host namespace (the proxy's upstream sockets'
/// namespace): what a stolen upstream socket would reach.
final class UDPSink {
    let fd: Int32
    let port: UInt16

    init(in cell: CellLab) throws {
        let bound = try cell.lab.inside(cell.host) { () throws -> (Int32, UInt16) in
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            try #require(fd >= 0, "socket: errno \(errno)")
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            try #require(named, "bind/getsockname: errno \(errno)")
            return (fd, UInt16(bigEndian: address.sin_port))
        }
        fd = bound.0
        port = bound.1
    }

    deinit { close(fd) }

    /// Every datagram that arrived so far.
    func received() -> [String] {
        var datagrams: [String] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 { return datagrams }
            datagrams.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
    }
}

/// A listening UNIX stream socket at a host path, mode 0666 (so only the cell's view,
/// not permissions, can keep a workload from it); removed with the object.
final class UnixSink {
    let path: String
    let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket: errno \(errno)")
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
        try #require(bound && chmod(path, 0o666) == 0 && listen(fd, 8) == 0, "\(path): errno \(errno)")
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Connections waiting to be accepted (each accepted and closed).
    func accepted() -> Int {
        var count = 0
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return count }
            close(client)
            count += 1
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CellosTestLab
import CShim
import Foundation
import IPCWire
import Testing

/// SpawnWorkload's file secrets through a running daemon: a sealed memfd of the
/// declared size becomes `/run/secrets/<name>` (0400, the workload's) in the
/// workload's private /run; anything else is refused, naming the entry and never
/// its bytes, before any workload exists.
@Suite(.serialized) struct SecretFileTests {
    static let value = "netnsd-secret-\(UUID().uuidString)"

    static func memfd(_ text: String, seals: Int32 = CELLOS_SECRET_SEALS) throws -> Int32 {
        let bytes = Array(text.utf8)
        let fd = cellos_memfd("test-secret", bytes, bytes.count, seals)
        try #require(fd >= 0, "memfd: errno \(errno)")
        return fd
    }

    static func request(_ id: CellID, size: Int, script: String) throws -> SpawnWorkload {
        try SpawnWorkload(
            cellID: id, path: "/bin/sh", arguments: ["sh", "-c", script], environment: ["PATH=/usr/bin:/bin"],
            uid: WorkloadTests.nobody, gid: WorkloadTests.nobody, stdio: true, secretFiles: [try SecretFile(name: "api", size: UInt32(size))])
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func sealedMemfdBecomesTheWorkloadsPrivateFile() throws {
        try PrivilegedTest.requireRoot()
        let log = "/tmp/cellos-secret-netnsd-\(getpid()).log"
        defer { unlink(log) }
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"], log: log)
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let id = try CellID("secret1")
        guard case .cellCreated = try client.request(CreateCell(cellID: id, policy: try EgressPolicy())).message else {
            Issue.record("create failed")
            return
        }
        let script = "cat /run/secrets/api; echo; stat -c '%a %u %g' /run/secrets/api /run/secrets; ls -a /run/secrets | tr '\\n' ' '; echo; ls /proc/self/fd | wc -l"
        let probe = try WorkloadProbe.run(try Self.request(id, size: Self.value.utf8.count, script: script), via: &client, secrets: [try Self.memfd(Self.value)])
        let lines = probe.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == Self.value, "\(probe.stdout)\(probe.stderr)")
        #expect(lines.dropFirst().prefix(2) == ["400 65534 65534", "700 65534 65534"], "\(probe.stdout)")
        #expect(lines.count > 3 && lines[3] == ". .. api ", "\(probe.stdout)")
        // 0, 1, 2 and ls's own directory descriptor: the memfd did not reach the workload.
        #expect(lines.last == "4", "\(probe.stdout)")
        #expect(probe.exit.exitCode == 0)
        _ = try client.request(DestroyCell(cellID: id))
        #expect(daemon.terminate() == 0)
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!logged.contains(Self.value))
    }

    /// Each refusal: the daemon answers invalid_request naming secret_files[0], the
    /// cell has no workload afterwards (a good spawn still works), the value is in no reply.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func anythingButASealedMemfdOfTheDeclaredSizeIsRefused() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try DaemonTests.RunningDaemon(arguments: ["--allow-uid", "0"])
        defer { _ = daemon.terminate() }
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        // A cell per case: a case that wrongly spawns cannot hide the next one.
        func cell(_ index: Int) throws -> CellID {
            let id = try CellID("secret2-\(index)")
            guard case .cellCreated = try client.request(CreateCell(cellID: id, policy: try EgressPolicy())).message else { throw WorkloadProbe.Refused(reply: ErrorReply(code: "create", message: "\(id)")) }
            return id
        }
        let size = Self.value.utf8.count
        let file = "/tmp/cellos-secret-file-\(getpid())"
        try Self.value.write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        var pipeEnds: [Int32] = [-1, -1]
        #expect(pipe(&pipeEnds) == 0)
        close(pipeEnds[1])
        let cases: [(String, Int32, Int)] = [
            ("unsealed", try Self.memfd(Self.value, seals: 0), size),
            ("no F_SEAL_WRITE", try Self.memfd(Self.value, seals: CELLOS_SECRET_SEALS & ~0x8), size),
            ("no F_SEAL_SEAL", try Self.memfd(Self.value, seals: CELLOS_SECRET_SEALS & ~0x1), size),
            ("wrong size", try Self.memfd(Self.value), size - 1),
            ("regular file", open(file, O_RDONLY | O_CLOEXEC), size),
            ("pipe", pipeEnds[0], size),
        ]
        for (index, (what, fd, declared)) in cases.enumerated() {
            let id = try cell(index)
            do {
                let probe = try WorkloadProbe.run(try Self.request(id, size: declared, script: "cat /run/secrets/api"), via: &client, secrets: [fd])
                Issue.record("\(what): spawned, the workload read \(probe.stdout.count) bytes")
            } catch let refused as WorkloadProbe.Refused {
                #expect(refused.reply.code == "invalid_request", "\(what): \(refused.reply)")
                #expect(refused.reply.message.hasPrefix("cell \(id): secret_files[0] 'api': "), "\(what): \(refused.reply.message)")
                #expect(!refused.reply.message.contains(Self.value))
                // Refused before anything happened: the same cell still takes a good spawn.
                if index == 0 {
                    let probe = try WorkloadProbe.run(try Self.request(id, size: size, script: "cat /run/secrets/api"), via: &client, secrets: [try Self.memfd(Self.value)])
                    #expect(probe.stdout == Self.value, "\(probe.stderr)")
                }
            }
        }
    }
}

import CellosTestLab
import Foundation
import IPCWire
import NetworkNamespaces
import Testing

/// Parsing LISTEN_* (error paths, no descriptors adopted) and spawning a real
/// socket-activated child that reports what it inherited.
@Suite struct SocketActivationTests {
    let pid = getpid()

    func parseError(_ environment: [String: String], first: Int32 = 3) -> ActivationError? {
        do {
            _ = try InheritedDescriptors.parse(environment: environment, pid: pid, firstDescriptor: first)
            return nil
        } catch {
            return error
        }
    }

    @Test func notActivatedIsNil() throws {
        #expect(try InheritedDescriptors.parse(environment: ["PATH": "/bin"], pid: pid) == nil)
    }

    @Test func listenPIDMustBeThisProcess() {
        #expect(parseError(["LISTEN_FDS": "1", "LISTEN_PID": "1"]) == .listenPIDMismatch(listenPID: 1, pid: pid))
        #expect(parseError(["LISTEN_FDS": "1"]) == .missingListenPID)
        #expect(parseError(["LISTEN_FDS": "1", "LISTEN_PID": "abc"]) == .invalidListenPID("abc"))
        #expect(parseError(["LISTEN_FDS": "1", "LISTEN_PID": "-5"]) == .invalidListenPID("-5"))
    }

    @Test func listenFDsMustBeABoundedCount() {
        #expect(parseError(["LISTEN_FDS": "x", "LISTEN_PID": "\(pid)"]) == .invalidListenFDs("x"))
        #expect(parseError(["LISTEN_FDS": "-1", "LISTEN_PID": "\(pid)"]) == .invalidListenFDs("-1"))
        #expect(parseError(["LISTEN_FDS": "17", "LISTEN_PID": "\(pid)"]) == .invalidListenFDs("17"))
    }

    @Test func namesMustMatchTheCount() {
        let base = ["LISTEN_FDS": "2", "LISTEN_PID": "\(pid)"]
        #expect(parseError(base.merging(["LISTEN_FDNAMES": "dns-udp"]) { $1 }) == .nameCountMismatch(descriptors: 2, names: 1))
        #expect(parseError(base.merging(["LISTEN_FDNAMES": "a:b:c"]) { $1 }) == .nameCountMismatch(descriptors: 2, names: 3))
        #expect(parseError(base.merging(["LISTEN_FDNAMES": "a:"]) { $1 }) == .invalidName(""))
    }

    @Test func descriptorsMustBeOpen() {
        let environment = ["LISTEN_FDS": "2", "LISTEN_PID": "\(pid)", "LISTEN_FDNAMES": "a:b"]
        #expect(parseError(environment, first: 4000) == .descriptorNotOpen(4000))
    }

    struct ChildReport {
        var descriptors: [(name: String, fd: Int32, identity: FileIdentity, cloexec: Bool)] = []
        var open: [Int32] = []

        init(path: String) throws {
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields[0] == "open" {
                    open = fields.count > 1 ? fields[1].split(separator: ",").compactMap { Int32($0) } : []
                } else {
                    descriptors.append((
                        String(fields[0]), Int32(fields[1])!,
                        FileIdentity(device: UInt64(fields[2])!, inode: UInt64(fields[3])!, mode: 0), fields[4] == "1"))
                }
            }
        }
    }

    func spawnChild(mode: String, names: [String], descriptors: borrowing DescriptorSet, report: String) throws -> SpawnedProcess {
        try ActivatedSpawn.spawn(
            executable: try BuiltProducts.path(of: "cellos-test-child"), arguments: [report, mode],
            environment: ["PATH": "/usr/bin:/bin", "LISTEN_FDS": "9", "LISTEN_PID": "1"],  // stale values are replaced
            names: names, descriptors: descriptors)
    }

    func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
        return status
    }

    @Test func childReceivesNamedDescriptorsAtThreeOnwardAndNothingElse() throws {
        let report = "/tmp/cellos-child-\(pid)-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(report) }
        // High-numbered sources in reverse order: placing one at 3.. must not clobber another.
        var sources = try Descriptors.mixed(3)
        var moved = DescriptorSet()
        for index in (0..<3).reversed() {
            let fd = sources.take(index)
            let high = OwnedFD(adopting: try systemCall("fcntl") { fcntl(fd.rawValue, F_DUPFD_CLOEXEC, 3 + Int32(index)) })
            moved.append(high)
        }
        let expected = try Descriptors.identities(moved)
        var child = try spawnChild(mode: "ready", names: ["c", "b", "a"], descriptors: moved, report: report)
        try child.waitUntilReady(timeoutMilliseconds: 10_000)
        #expect(child.readiness.statusLines == ["reported 3 descriptors"])
        #expect(reap(child.pid) == 0)

        let parsed = try ChildReport(path: report)
        #expect(parsed.descriptors.map(\.name) == ["c", "b", "a"])
        #expect(parsed.descriptors.map(\.fd) == [3, 4, 5])
        #expect(parsed.descriptors.map(\.identity) == expected.map { FileIdentity(device: $0.device, inode: $0.inode, mode: 0) })
        #expect(parsed.descriptors.allSatisfy { $0.cloexec })  // the child marks them after parsing
        // 0-2, the three inherited, and the notify pipe at 6; nothing of the parent's.
        #expect(parsed.open == [0, 1, 2, 3, 4, 5, 6])
    }

    @Test func childWithoutDescriptorsGetsNoListenVariables() throws {
        let report = "/tmp/cellos-child-\(pid)-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(report) }
        var child = try spawnChild(mode: "ready", names: [], descriptors: DescriptorSet(), report: report)
        try child.waitUntilReady(timeoutMilliseconds: 10_000)
        #expect(reap(child.pid) == 0)
        #expect(try ChildReport(path: report).open == [0, 1, 2, 3])
    }

    @Test func exitBeforeReadyIsReportedWithTheLastStatus() throws {
        let report = "/tmp/cellos-child-\(pid)-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(report) }
        var child = try spawnChild(mode: "exit-before-ready", names: [], descriptors: DescriptorSet(), report: report)
        #expect(throws: ReadinessError.closedBeforeReady(pid: child.pid, lastStatus: "giving up before ready")) {
            try child.waitUntilReady(timeoutMilliseconds: 10_000)
        }
        let status = reap(child.pid)
        #expect((status >> 8) & 0xFF == 3)
    }

    @Test func silentChildTimesOut() throws {
        let report = "/tmp/cellos-child-\(pid)-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(report) }
        var child = try spawnChild(mode: "hang", names: [], descriptors: DescriptorSet(), report: report)
        defer {
            kill(child.pid, SIGKILL)
            _ = reap(child.pid)
        }
        #expect(throws: ReadinessError.timedOut(pid: child.pid, lastStatus: "hanging")) {
            try child.waitUntilReady(timeoutMilliseconds: 300)
        }
    }

    @Test func spawnRefusesBadRequestsBeforeForking() throws {
        let fds = try Descriptors.mixed(1)
        #expect(throws: SpawnError.relativeExecutable("cellos-test-child")) {
            _ = try ActivatedSpawn.spawn(executable: "cellos-test-child", arguments: [], environment: [:], names: ["a"], descriptors: fds)
        }
        #expect(throws: SpawnError.nameCountMismatch(descriptors: 1, names: 2)) {
            _ = try ActivatedSpawn.spawn(executable: "/bin/true", arguments: [], environment: [:], names: ["a", "b"], descriptors: fds)
        }
        #expect(throws: SpawnError.invalidName("a:b")) {
            _ = try ActivatedSpawn.spawn(executable: "/bin/true", arguments: [], environment: [:], names: ["a:b"], descriptors: fds)
        }
    }

    @Test func execFailureIsReportedWithItsErrno() throws {
        let missing = "/nonexistent/cellos-helper"
        #expect(throws: SpawnError.exec(missing, SystemCallError("execve", errno: ENOENT, context: missing))) {
            _ = try ActivatedSpawn.spawn(executable: missing, arguments: [], environment: [:], names: [], descriptors: DescriptorSet())
        }
    }

    /// The handoff the suite is built on: a socket bound inside a new network
    /// namespace, passed over IPCWire, then handed to a child by socket activation,
    /// is still the same socket in that namespace.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func namespaceSocketSurvivesIPCAndActivation() throws {
        try PrivilegedTest.requireRoot()
        let pair = try ConnectionPair()
        let hostNamespace = try NetworkNamespace.hostIdentity()
        let cellNamespace = try NetworkNamespace.create { namespace in
            var fds = DescriptorSet()
            fds.append(try namespace.duplicate())
            fds.append(try Descriptors.udpSocket())
            try pair.first.send(DescriptorBundle(names: ["netns", "dns-udp"]), requestID: 1, descriptors: fds)
            return try namespace.identity()
        }
        #expect(cellNamespace != hostNamespace)
        var received = try pair.second.receive(DescriptorBundle.self)
        let namespace = received.descriptors.take(0)
        let isNetworkNamespace = NetworkNamespace.isNetworkNamespace(namespace)
        let receivedIdentity = try namespace.identity()
        #expect(isNetworkNamespace)
        #expect(receivedIdentity == cellNamespace)

        let report = "/tmp/cellos-child-\(pid)-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(report) }
        var socketOnly = DescriptorSet()
        socketOnly.append(received.descriptors.take(1))
        let socketIdentity = try Descriptors.identities(socketOnly)[0]
        var child = try spawnChild(mode: "ready", names: ["dns-udp"], descriptors: socketOnly, report: report)
        try child.waitUntilReady(timeoutMilliseconds: 10_000)
        #expect(reap(child.pid) == 0)
        let parsed = try ChildReport(path: report)
        #expect(parsed.descriptors.first?.identity == FileIdentity(device: socketIdentity.device, inode: socketIdentity.inode, mode: 0))
    }
}

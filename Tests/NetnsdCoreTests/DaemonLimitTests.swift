import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import Testing

/// The daemon's bounds: `--max-connections`, `--max-cells-per-connection`,
/// `--max-cells` and a low `RLIMIT_NOFILE`. Each refusal is `limit_exceeded`
/// naming the limit, and everybody else goes on being served.
@Suite(.serialized) struct DaemonLimitTests {
    typealias RunningDaemon = DaemonTests.RunningDaemon

    /// The refusal in `reply`, or nil (and an issue) when it was something else.
    static func refusal(_ reply: borrowing NetnsdReply, _ what: String) -> ErrorReply? {
        guard case .error(let error) = reply.message else {
            Issue.record("\(what) was not refused: \(reply.message)")
            return nil
        }
        return error
    }

    /// One round trip that proves the connection is served (its cell is unknown).
    static func isServed(_ client: inout NetnsdClient) throws -> Bool {
        let reply = try client.request(DestroyCell(cellID: try CellID("probe")))
        guard case .error(let error) = reply.message else { return false }
        return error.code == NetnsdSession.ErrorCode.unknownCell
    }

    static func create(_ client: inout NetnsdClient, _ id: String) throws -> NetnsdFrame.Message {
        try client.request(CreateCell(cellID: try CellID(id), policy: try DaemonTests.policy())).message
    }

    static func created(_ message: NetnsdFrame.Message) -> Bool {
        if case .cellCreated = message { return true }
        return false
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func connectionsBeyondMaxConnectionsGetOneRefusalNamingTheFlag() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0", "--max-connections", "3"])
        var first = try NetnsdClient.connect(path: daemon.socketPath)
        var second = try NetnsdClient.connect(path: daemon.socketPath)
        var third = try NetnsdClient.connect(path: daemon.socketPath)
        let served = [try Self.isServed(&first), try Self.isServed(&second), try Self.isServed(&third)]
        #expect(served == [true, true, true])
        do {
            // The fourth is accepted, answered once and closed: the client's request
            // gets that refusal as its reply (not a hang, not a bare EPIPE).
            var extra = try NetnsdClient.connect(path: daemon.socketPath)
            let reply = try extra.request(DestroyCell(cellID: try CellID("probe")))
            if let refusal = Self.refusal(reply, "a fourth connection") {
                #expect(refusal.code == NetnsdSession.ErrorCode.limitExceeded)
                #expect(refusal.message.contains("--max-connections 3"), "\(refusal.message)")
            }
            var closed = false
            do { _ = try extra.connection.receive() } catch { closed = error == .peerClosed }
            #expect(closed, "the refused connection was not closed")
        }
        // The three are still served, and a freed slot admits a new connection.
        let stillServed = [try Self.isServed(&first), try Self.isServed(&second)]
        #expect(stillServed == [true, true])
        do { _ = consume third }
        var admitted = false
        let deadline = Monotonic.milliseconds() + 5000
        while !admitted && Monotonic.milliseconds() < deadline {
            var next = try NetnsdClient.connect(path: daemon.socketPath)
            admitted = (try? Self.isServed(&next)) == true
            if !admitted { usleep(20_000) }
        }
        #expect(admitted, "the closed connection's slot was never freed")
        #expect(daemon.terminate() == 0)
    }

    /// Per connection, then daemon-wide: both refusals name their flag, and a
    /// destroyed cell gives its place back to any connection.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func cellCapsPerConnectionAndAcrossConnectionsAreRefusedAndFreedByDestroy() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0", "--max-cells-per-connection", "2", "--max-cells", "3"])
        var one = try NetnsdClient.connect(path: daemon.socketPath)
        var two = try NetnsdClient.connect(path: daemon.socketPath)
        #expect(Self.created(try Self.create(&one, "a1")))
        #expect(Self.created(try Self.create(&one, "a2")))
        var reply = try one.request(CreateCell(cellID: try CellID("a3"), policy: try DaemonTests.policy()))
        if let refusal = Self.refusal(reply, "a third cell on one connection") {
            #expect(refusal.code == NetnsdSession.ErrorCode.limitExceeded)
            #expect(refusal.message.contains("--max-cells-per-connection 2"), "\(refusal.message)")
        }
        #expect(Self.created(try Self.create(&two, "b1")))
        reply = try two.request(CreateCell(cellID: try CellID("b2"), policy: try DaemonTests.policy()))
        if let refusal = Self.refusal(reply, "a fourth cell across connections") {
            #expect(refusal.code == NetnsdSession.ErrorCode.limitExceeded)
            #expect(refusal.message.contains("--max-cells 3"), "\(refusal.message)")
        }
        // A refused create changed nothing: the id is still free once there is room.
        reply = try one.request(DestroyCell(cellID: try CellID("a1")))
        #expect(reply.message == .cellDestroyed(CellDestroyed(cellID: try CellID("a1"))))
        #expect(Self.created(try Self.create(&two, "b2")))
        #expect(daemon.terminate() == 0)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func invalidLimitFlagsAreRefusedNamingTheFlag() throws {
        try PrivilegedTest.requireRoot()
        let cases: [([String], String)] = [
            (["--max-connections", "0"], "--max-connections 0"),
            (["--max-cells", "70000"], "--max-cells 70000"),
            (["--max-cells-per-connection", "5", "--max-cells", "3"], "--max-cells-per-connection 5 exceeds --max-cells 3"),
        ]
        for (arguments, expected) in cases {
            let result = try Shell.run([BuiltExecutable.netnsd, "--socket", "/tmp/cellos-never-\(getpid()).sock", "--allow-uid", "0"] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
        }
    }

    /// Under `RLIMIT_NOFILE` 64: cells until a typed refusal naming the limit; a
    /// destroy makes room again; connections beyond the descriptors are refused
    /// (never a crash or a hang) and the daemon serves again once they close.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func lowDescriptorLimitRefusesCellsAndConnectionsAndKeepsServing() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0"], wrapper: ["/usr/bin/prlimit", "--nofile=64:64", "--"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        var created: [String] = []
        var refusal: ErrorReply?
        for index in 0..<64 where refusal == nil {
            let message = try Self.create(&client, "n\(index)")
            if Self.created(message) {
                created.append("n\(index)")
            } else if case .error(let error) = message {
                refusal = error
            }
        }
        #expect(created.count >= 2, "only \(created.count) cells under RLIMIT_NOFILE 64")
        let error = try #require(refusal, "64 cells were created under RLIMIT_NOFILE 64")
        #expect(error.code == NetnsdSession.ErrorCode.limitExceeded)
        #expect(error.message.contains("RLIMIT_NOFILE"), "\(error.message)")

        let last = try #require(created.last)
        let destroyed = try client.request(DestroyCell(cellID: try CellID(last)))
        #expect(destroyed.message == .cellDestroyed(CellDestroyed(cellID: try CellID(last))))
        #expect(Self.created(try Self.create(&client, "again")))

        // Connections until the daemon runs out of descriptors: each extra one is
        // answered with limit_exceeded on the spare descriptor, not left hanging.
        var extras = DescriptorSet()
        var refusedConnection: ErrorReply?
        for _ in 0..<40 where refusedConnection == nil {
            var extra = try NetnsdClient.connect(path: daemon.socketPath)
            let reply = try extra.request(DestroyCell(cellID: try CellID("probe")))
            if case .error(let error) = reply.message, error.code == NetnsdSession.ErrorCode.limitExceeded {
                refusedConnection = error
            } else {
                extras.append(try extra.connection.socket.duplicate())
            }
        }
        let refused = try #require(refusedConnection, "40 connections were all served under RLIMIT_NOFILE 64")
        #expect(refused.message.contains("out of descriptors") && refused.message.contains("RLIMIT_NOFILE 64"), "\(refused.message)")
        extras = DescriptorSet()
        // Their descriptors freed and two cells destroyed, a second connection
        // makes a cell (the daemon closes the extras asynchronously: retry, bounded).
        #expect(try Self.isServed(&client))
        for id in created.dropLast().suffix(2) {
            _ = try client.request(DestroyCell(cellID: try CellID(id)))
        }
        let deadline = Monotonic.milliseconds() + 5000
        var secondCreated = false
        var attempt = 0
        while !secondCreated && Monotonic.milliseconds() < deadline {
            var second = try NetnsdClient.connect(path: daemon.socketPath)
            attempt += 1
            secondCreated = Self.created((try? Self.create(&second, "second-\(attempt)")) ?? .error(ErrorReply(code: "", message: "")))
            if !secondCreated { usleep(20_000) }
        }
        #expect(secondCreated, "a second connection could not create a cell after two were destroyed")
        #expect(kill(daemon.pid, 0) == 0, "the daemon died")
        #expect(daemon.terminate() == 0)
    }
}

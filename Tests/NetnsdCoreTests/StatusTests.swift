import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import Testing

/// ReadStatus: an ordinary client sees its own connection's cells, an admin
/// (`--admin-uid`) every connection's; an admin-only connection may send
/// nothing else, and a peer that is neither is refused without side effect.
@Suite(.serialized) struct StatusTests {
    typealias RunningDaemon = DaemonTests.RunningDaemon

    static let admin = "70002"
    static let stranger = "70003"

    static func status(_ client: inout NetnsdClient) throws -> StatusReport? {
        let reply = try client.request(ReadStatus())
        guard case .statusReport(let report) = reply.message else {
            Issue.record("ReadStatus answered \(reply.message)")
            return nil
        }
        return report
    }

    /// `cellos-netnsd ctl ARGS` as `uid` (uid and gid), no supplementary groups.
    static func ctl(as uid: String, _ arguments: [String], socket: String) throws -> CommandResult {
        try Shell.run(["setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", BuiltExecutable.netnsd, "ctl"] + arguments + ["--socket", socket])
    }

    static func ids(_ json: String) throws -> [String] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return ((object?["cells"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }.sorted()
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func clientsSeeTheirOwnCellsAndAdminsSeeAll() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0", "--admin-uid", Self.admin])
        // The test's own daemon socket: others may connect, SO_PEERCRED decides.
        #expect(chmod(daemon.socketPath, 0o666) == 0)
        var first = try NetnsdClient.connect(path: daemon.socketPath)
        var second = try NetnsdClient.connect(path: daemon.socketPath)
        #expect(DaemonLimitTests.created(try DaemonLimitTests.create(&first, "status-a")))
        #expect(DaemonLimitTests.created(try DaemonLimitTests.create(&second, "status-b")))

        let own = try #require(try Self.status(&first))
        #expect(own.scope == .ownConnection && !own.truncated)
        #expect(own.cells.map(\.cellID.value) == ["status-a"])
        let cell = try #require(own.cells.first)
        #expect(cell.ownerPID == getpid() && cell.ownerUID == 0 && cell.phase == .none && cell.workloadPID == 0)
        #expect(cell.workloadUID == nil && cell.confinement.isEmpty && cell.cgroupLeaves.isEmpty && cell.pin == nil && cell.uplink == nil)

        let asAdmin = try Self.ctl(as: Self.admin, ["status", "--json"], socket: daemon.socketPath)
        #expect(asAdmin.succeeded, "\(asAdmin.stdout)\(asAdmin.stderr)")
        #expect(try Self.ids(asAdmin.stdout) == ["status-a", "status-b"], "\(asAdmin.stdout)")
        #expect(asAdmin.stdout.contains("\"scope\":\"all\""), "\(asAdmin.stdout)")
        let table = try Self.ctl(as: Self.admin, ["status"], socket: daemon.socketPath)
        #expect(table.stdout.contains("2 cell(s) of all connections") && table.stdout.contains("status-b"), "\(table.stdout)")

        // An admin-only connection may not create a cell; a stranger may not even ask.
        let adminCreate = try Self.ctl(as: Self.admin, ["create", "--id", "status-admin"], socket: daemon.socketPath)
        #expect(!adminCreate.succeeded && adminCreate.stdout.contains("refused: unauthorized"), "\(adminCreate.stdout)\(adminCreate.stderr)")
        let strangerStatus = try Self.ctl(as: Self.stranger, ["status"], socket: daemon.socketPath)
        #expect(!strangerStatus.succeeded && strangerStatus.stdout.contains("refused: unauthorized"), "\(strangerStatus.stdout)\(strangerStatus.stderr)")
        #expect(!strangerStatus.stdout.contains("status-a"), "\(strangerStatus.stdout)")
        // No side effect: still exactly the two cells, both served.
        let after = try Self.ctl(as: Self.admin, ["status", "--json"], socket: daemon.socketPath)
        #expect(try Self.ids(after.stdout) == ["status-a", "status-b"], "\(after.stdout)")
        #expect(try Self.status(&second)?.cells.map(\.cellID.value) == ["status-b"])
    }

    /// The reply never exceeds one frame: cells beyond it are left out and flagged.
    @Test func reportFitsOneFrameAndSaysWhenTruncated() throws {
        let cells = try (0..<2000).map { index in
            CellStatus(cellID: try CellID("cell-\(index)"), ageMilliseconds: UInt64(index), ownerPID: 1, ownerUID: 0, ownerGID: 0,
                       pin: "/run/netns/cellos-cell-\(index)")
        }
        let report = StatusReport.fitting(scope: .allConnections, cells: cells)
        #expect(report.truncated && report.cells.count < cells.count && !report.cells.isEmpty)
        let frame = NetnsdFrame.make(report, requestID: 1, flags: .response)
        #expect(frame.payload.count + FrameHeader.size <= FrameHeader.maxFrameSize)
        #expect(try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: 0) == .statusReport(report))
        let few = StatusReport.fitting(scope: .ownConnection, cells: Array(cells.prefix(3)))
        #expect(!few.truncated && few.cells.count == 3)
    }
}


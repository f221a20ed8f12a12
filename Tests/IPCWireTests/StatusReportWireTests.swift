import Foundation
import IPCWire
import Testing

/// StatusReport's wire rules and its fuzz seeds.
@Suite struct StatusReportWireTests {
    /// The fuzz seeds for ReadStatus/StatusReport are valid frames reaching every field.
    @Test func statusSeedsDecode() throws {
        guard case .readStatus = try NetnsdFuzzSeedTests.decode("read-status"),
            case .statusReport(let report) = try NetnsdFuzzSeedTests.decode("status-report"),
            case .statusReport(let truncated) = try NetnsdFuzzSeedTests.decode("status-report-truncated")
        else {
            Issue.record("a seed decodes to another message")
            return
        }
        #expect(report.scope == .allConnections && !report.truncated && report.cells.map(\.cellID.value) == ["c1", "c2"])
        let running = try #require(report.cells.first)
        #expect(running.phase == .running && running.workloadPID == 4300 && running.workloadUID == 2147483648 && running.confinement.count == 7)
        #expect(running.cgroupLeaves == ["/sys/fs/cgroup/cellos/cell-c1-4300"] && running.uplink == "cellosu0" && running.pin == "/run/netns/cellos-c1")
        #expect(truncated.truncated && truncated.scope == .ownConnection && truncated.cells.first?.phase == CellStatus.Phase.none)
    }

    /// A running phase without a pid, or ids without a workload, is refused.
    @Test func inconsistentCellsAreRefused() throws {
        let cellID = try CellID("c")
        let bad = [
            CellStatus(cellID: cellID, ageMilliseconds: 0, ownerPID: 1, ownerUID: 0, ownerGID: 0, workloadPID: 0, phase: .running),
            CellStatus(cellID: cellID, ageMilliseconds: 0, ownerPID: 1, ownerUID: 0, ownerGID: 0, workloadUID: 5, workloadGID: 5),
            CellStatus(cellID: cellID, ageMilliseconds: 0, ownerPID: 1, ownerUID: 0, ownerGID: 0, cgroupLeaves: ["relative"]),
        ]
        for cell in bad {
            let frame = NetnsdFrame.make(StatusReport(scope: .ownConnection, truncated: false, cells: [cell]), requestID: 1, flags: .response)
            #expect(throws: WireError.self) { try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: 0) }
        }
    }
}

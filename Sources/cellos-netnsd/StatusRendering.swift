import HelperRuntime
import IPCWire

/// `ctl status`: a StatusReport as a table (one row per cell, its confinement
/// and cgroup leaves beneath) or as one JSON object.
enum StatusRendering {
    static func table(_ report: StatusReport) -> String {
        let scope = report.scope == .allConnections ? "all connections" : "this connection"
        var lines = ["\(report.cells.count) cell(s) of \(scope)\(report.truncated ? " (truncated: more cells than fit one frame)" : "")"]
        guard !report.cells.isEmpty else { return lines.joined(separator: "\n") }
        let header = ["CELL", "STATE", "AGE", "OWNER", "WORKLOAD", "PHASE", "UID:GID", "UPLINK", "PIN"]
        let rows = report.cells.map { cell in
            [
                cell.cellID.value, "\(cell.state)", seconds(cell.ageMilliseconds), "pid \(cell.ownerPID) uid \(cell.ownerUID)",
                cell.workloadPID == 0 ? "-" : "\(cell.workloadPID)", cell.phase.name,
                cell.workloadUID.map { "\($0):\(cell.workloadGID ?? 0)" } ?? "-", cell.uplink ?? "-", cell.pin ?? "-",
            ]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
        }
        lines.append(line(header))
        for (cell, row) in zip(report.cells, rows) {
            lines.append(line(row))
            for layer in cell.confinement { lines.append("    \(layer.name): \(layer.applied ? "applied" : "NOT applied"), \(layer.detail)") }
            for leaf in cell.cgroupLeaves { lines.append("    cgroup: \(leaf)") }
        }
        return lines.joined(separator: "\n")
    }

    private static func seconds(_ milliseconds: UInt64) -> String {
        "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - String(milliseconds % 1000).count))\(milliseconds % 1000)s"
    }

    static func json(_ report: StatusReport) -> String {
        let cells = report.cells.map { cell in
            let layers = cell.confinement.map {
                "{\"name\":\(JSONBytes.quoted($0.name)),\"applied\":\($0.applied),\"detail\":\(JSONBytes.quoted($0.detail))}"
            }
            let fields = [
                "\"id\":\(JSONBytes.quoted(cell.cellID.value))", "\"state\":\(JSONBytes.quoted("\(cell.state)"))", "\"age_ms\":\(cell.ageMilliseconds)",
                "\"owner\":{\"pid\":\(cell.ownerPID),\"uid\":\(cell.ownerUID),\"gid\":\(cell.ownerGID)}",
                "\"workload\":{\"pid\":\(cell.workloadPID),\"phase\":\(JSONBytes.quoted(cell.phase.name)),\"uid\":\(cell.workloadUID.map(String.init) ?? "null"),\"gid\":\(cell.workloadGID.map(String.init) ?? "null")}",
                "\"confinement\":[\(layers.joined(separator: ","))]",
                "\"cgroups\":[\(cell.cgroupLeaves.map(JSONBytes.quoted).joined(separator: ","))]",
                "\"uplink\":\(cell.uplink.map(JSONBytes.quoted) ?? "null")", "\"pin\":\(cell.pin.map(JSONBytes.quoted) ?? "null")",
            ]
            return "{" + fields.joined(separator: ",") + "}"
        }
        let scope = report.scope == .allConnections ? "all" : "own"
        return "{\"scope\":\"\(scope)\",\"truncated\":\(report.truncated),\"cells\":[\(cells.joined(separator: ","))]}"
    }
}

import Foundation

/// The request table of docs/netnsd.md ("Requests, permitted states and
/// errors"), parsed: one row per request, cells by column name.
struct DocumentedRequests {
    struct Row {
        let request: String
        let cells: [String: String]

        subscript(_ column: String) -> String { cells[column] ?? "" }

        /// A column listing backticked names (`ready`, `destroyed`); nil for "any" or "—".
        func names(_ column: String) -> [String]? {
            let text = self[column]
            guard text != "any" && text != "—" else { return nil }
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
        }
    }

    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/netnsd.md")

    let rows: [Row]

    init() throws {
        let lines = try String(contentsOf: Self.file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let heading = lines.firstIndex(where: { $0.hasPrefix("Requests, permitted states and errors") }),
            let header = lines[heading...].firstIndex(where: { $0.hasPrefix("| request |") })
        else { throw ParseError(reason: "no request table in \(Self.file.path)") }
        let columns = Self.cells(lines[header])
        var rows: [Row] = []
        for line in lines[(header + 2)...] {
            guard line.hasPrefix("|") else { break }
            let values = Self.cells(line)
            guard values.count == columns.count else { throw ParseError(reason: "row has \(values.count) cells, header \(columns.count): \(line)") }
            rows.append(Row(
                request: values[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")),
                cells: Dictionary(uniqueKeysWithValues: zip(columns, values))))
        }
        self.rows = rows
    }

    func row(_ request: String) -> Row? { rows.first { $0.request == request } }

    private static func cells(_ line: String) -> [String] {
        line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) }
    }

    struct ParseError: Error { let reason: String }
}

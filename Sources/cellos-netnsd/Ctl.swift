#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import IPCWire
import NetnsdCore

/// `cellos-netnsd ctl`: send one request at a time to a running daemon by hand.
struct Ctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cellos-netnsd ctl",
        abstract: "Send requests to a running cellos-netnsd (debugging).",
        discussion: """
            Cells belong to the connection that created them and are destroyed when it closes, so `create` keeps its connection open: it prints the reply (descriptor names and where to find the descriptors), waits until standard input reaches EOF (press Ctrl-D), then sends ReadCounters and DestroyCell and prints their replies.
            """,
        subcommands: [Create.self, Destroy.self])

    struct Connection: ParsableArguments {
        @Option(help: "Path of the daemon's control socket.")
        var socket: String
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "CreateCell, hold it until stdin EOF, then DestroyCell.")

        @OptionGroup var connection: Connection

        @Option(help: "The cell id (\(CellID.rule)).")
        var id: String

        @Option(name: .customLong("allow"), help: "An allow rule ID,PROTOCOL,DESTINATION[,PORTS], e.g. 1,tcp,10.0.0.0/8,80-90 (repeatable).")
        var allow: [String] = []

        @Option(help: "The resolver address inside the cell (loopback).")
        var resolver = "127.0.0.1:53"

        @Option(help: "The cell's NFLOG group.")
        var nflogGroup: UInt16 = 1

        @Option(help: "Attach to this existing network namespace (e.g. /run/netns/NAME) instead of creating one.")
        var attach: String?

        func run() throws {
            let rules = try allow.enumerated().map { index, spec in try AllowRule(spec: spec, field: "--allow[\(index)]") }
            let policy = try EgressPolicy(allow: rules, resolver: ResolverAddress(parsing: resolver, field: "--resolver"), nflogGroup: nflogGroup)
            var descriptors = DescriptorSet()
            if let attach { descriptors.append(try openNamespace(attach)) }
            var client = try NetnsdClient.connect(path: connection.socket)
            let reply = try client.request(CreateCell(cellID: try CellID(id), policy: policy, attach: attach != nil), descriptors: descriptors)
            emit(describe(reply))
            guard case .cellCreated = reply.message else { throw ExitCode.failure }
            while readLine() != nil {}
            emit(describe(try client.request(ReadCounters(cellID: try CellID(id)))))
            emit(describe(try client.request(DestroyCell(cellID: try CellID(id)))))
        }

        private func openNamespace(_ path: String) throws -> OwnedFD {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw ValidationError("--attach \(path): \(SystemCallError("open", context: path))") }
            return OwnedFD(adopting: fd)
        }
    }

    struct Destroy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "DestroyCell on a new connection (refused unless that connection created the cell: shows the ownership rule).")

        @OptionGroup var connection: Connection

        @Option(help: "The cell id.")
        var id: String

        func run() throws {
            var client = try NetnsdClient.connect(path: connection.socket)
            let reply = try client.request(DestroyCell(cellID: try CellID(id)))
            emit(describe(reply))
            if case .error = reply.message { throw ExitCode.failure }
        }
    }
}

/// One line per reply: the message, and for each received descriptor its name and
/// what it refers to (by /proc path of this process, so it can be inspected).
func describe(_ reply: borrowing NetnsdReply) -> String {
    if case .countersReport(let report) = reply.message {
        return (["counters of cell \(report.cellID):"] + report.entries.map { "  \($0.label): \($0.packets) packets, \($0.bytes) bytes" })
            .joined(separator: "\n")
    }
    var lines = ["\(reply.message)"]
    if case .cellCreated(let created) = reply.message {
        for (index, name) in created.names.enumerated() {
            let raw = reply.descriptors.raw(index)
            lines.append("  \(name): /proc/\(getpid())/fd/\(raw)")
        }
    }
    return lines.joined(separator: "\n")
}

/// Writes a line to standard output unbuffered, so a caller watching the output
/// sees the reply while `create` still holds the cell.
func emit(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

import Foundation
import IPCWire
import NetnsdCore
import Testing

/// Runs one workload with pipes as its stdio (stdin at EOF) and collects what it
/// printed: through a daemon connection, or through an in-process session (where
/// tests may lower what the kernel offers, e.g. `landlockABI`).
struct WorkloadProbe {
    var spawned: WorkloadSpawned
    var exit: WorkloadExited
    var stdout: String
    var stderr: String

    /// The daemon refused the SpawnWorkload.
    struct Refused: Error { var reply: ErrorReply }

    /// Receives a session's exits on its reaper threads.
    final class Exits: @unchecked Sendable {
        private let lock = NSLock()
        private var exits: [WorkloadExited] = []
        var sink: NetnsdSession.ExitSink { { exit in self.lock.withLock { self.exits.append(exit) } } }

        func wait(for id: CellID) -> WorkloadExited? {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let exit = lock.withLock({ exits.first { $0.cellID == id } }) { return exit }
                usleep(10_000)
            }
            return nil
        }
    }

    /// Pipes for 0, 1, 2: the workload's ends travel with the frame.
    private static func pipes() -> (workloadEnds: [Int32], stdout: FileHandle, stderr: FileHandle) {
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        let ends: [Int32] = ([
            dup(stdin.fileHandleForReading.fileDescriptor), dup(stdout.fileHandleForWriting.fileDescriptor),
            dup(stderr.fileHandleForWriting.fileDescriptor),
        ])
        try? stdin.fileHandleForWriting.close()
        try? stdin.fileHandleForReading.close()
        try? stdout.fileHandleForWriting.close()
        try? stderr.fileHandleForWriting.close()
        return (ends, stdout.fileHandleForReading, stderr.fileHandleForReading)
    }

    private final class Text: @unchecked Sendable { var value = "" }

    private static func collect(_ stdout: FileHandle, _ stderr: FileHandle) -> (String, String) {
        // stderr is read on another thread so a chatty workload cannot fill one
        // pipe while this one blocks on the other.
        let errors = Text()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errors.value = String(decoding: stderr.readDataToEndOfFile(), as: UTF8.self) }
        let output = String(decoding: stdout.readDataToEndOfFile(), as: UTF8.self)
        group.wait()
        return (output, errors.value)
    }

    /// `request` must have `stdio`; `secrets` (owned descriptors, closed here) follow the stdio ends.
    static func run(_ request: SpawnWorkload, via client: inout NetnsdClient, secrets: [Int32] = []) throws -> WorkloadProbe {
        let (ends, stdout, stderr) = pipes()
        let reply = try client.request(request, descriptors: DescriptorSet(adopting: ends + secrets))
        switch reply.message {
        case .workloadSpawned(let spawned):
            _ = try client.request(StartWorkload(cellID: request.cellID))
            let (output, errors) = collect(stdout, stderr)
            return WorkloadProbe(spawned: spawned, exit: try client.nextExit(), stdout: output, stderr: errors)
        case .error(let error): throw Refused(reply: error)
        default: throw Refused(reply: ErrorReply(code: "unexpected", message: "\(reply.message)"))
        }
    }

    /// `request` must have `stdio`; its cell must exist in `session`, whose exit sink is `exits`.
    static func run(_ request: SpawnWorkload, in session: NetnsdSession, exits: Exits) throws -> WorkloadProbe {
        let (ends, stdout, stderr) = pipes()
        let reply = session.handle(NetnsdFrame.make(request, requestID: 1, descriptors: DescriptorSet(adopting: ends)))
        let message = try NetnsdFrame.decode(header: reply.header, payload: reply.payload, descriptorCount: reply.descriptors.count)
        switch message {
        case .workloadSpawned(let spawned):
            _ = session.handle(NetnsdFrame.make(StartWorkload(cellID: request.cellID), requestID: 2))
            let (output, errors) = collect(stdout, stderr)
            let exit = try #require(exits.wait(for: request.cellID), "no exit of \(request.cellID)")
            return WorkloadProbe(spawned: spawned, exit: exit, stdout: output, stderr: errors)
        case .error(let error): throw Refused(reply: error)
        default: throw Refused(reply: ErrorReply(code: "unexpected", message: "\(message)"))
        }
    }
}

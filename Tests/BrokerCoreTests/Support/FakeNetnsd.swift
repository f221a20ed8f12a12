import Foundation
import IPCWire

/// A netnsd behind `NetnsdChannel`, without a daemon: it answers each request the
/// way cellos-netnsd does (a started workload exits with `exitCode`, a signalled
/// one with its signal) unless told to refuse a request type or to be lost on it,
/// and records every request.
final class FakeNetnsd: NetnsdChannel {
    struct Request: Equatable {
        var message: NetnsdFrame.Message
        var descriptors: Int
    }

    private(set) var requests: [Request] = []
    /// Requests answered with this ErrorReply instead.
    var refusals: [MessageType: ErrorReply] = [:]
    /// The connection breaks when this request type is sent.
    var lostOn: MessageType?
    /// The workload's exit code once started; nil: it runs until signalled.
    var exitCode: Int32? = 0
    private var pendingExit: WorkloadExited?
    /// A pid no process has (past pid_max): the broker's pidfd of it fails.
    static let workloadPID = Int32.max

    var requestTypes: [String] { requests.map { Self.name($0.message) } }

    static func name(_ message: NetnsdFrame.Message) -> String {
        let text = String(describing: message).prefix { $0 != "(" }
        return text.prefix(1).uppercased() + text.dropFirst()
    }

    func request<M: NetnsdMessage>(_ request: M, descriptors: consuming DescriptorSet) throws(WireError) -> NetnsdReply {
        let count = descriptors.count
        let frame = NetnsdFrame.make(request, requestID: 1, descriptors: descriptors)
        let message = try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: count)
        requests.append(Request(message: message, descriptors: count))
        if M.messageType == lostOn { throw .peerClosed }
        if let refusal = refusals[M.messageType] { return NetnsdReply(message: .error(refusal), descriptors: DescriptorSet()) }
        return answer(message)
    }

    private func answer(_ message: NetnsdFrame.Message) -> NetnsdReply {
        var descriptors = DescriptorSet()
        let reply: NetnsdFrame.Message
        switch message {
        case .createCell(let create):
            for _ in CellCreated.requiredNames { descriptors.append(OwnedFD(adopting: open("/dev/null", O_RDONLY | O_CLOEXEC))) }
            reply = .cellCreated(CellCreated(cellID: create.cellID, names: CellCreated.requiredNames))
        case .spawnWorkload(let spawn):
            let layers = ConfinementLayer.names.map { ConfinementLayer(name: $0, applied: true, detail: "fake") }
            reply = .workloadSpawned(WorkloadSpawned(cellID: spawn.cellID, pid: Self.workloadPID, uid: 3_000_000_001, gid: 3_000_000_001, confinement: layers))
        case .startWorkload(let start):
            if let exitCode { pendingExit = WorkloadExited(cellID: start.cellID, exitCode: exitCode, signal: nil) }
            reply = .workloadStarted(WorkloadStarted(cellID: start.cellID))
        case .signalWorkload(let signal):
            pendingExit = WorkloadExited(cellID: signal.cellID, exitCode: nil, signal: signal.signal)
            reply = .workloadSignalled(WorkloadSignalled(cellID: signal.cellID))
        case .readCounters(let read):
            reply = .countersReport(CountersReport(cellID: read.cellID, entries: [CountersReport.Entry(label: "default", packets: 2, bytes: 120)]))
        case .destroyCell(let destroy):
            reply = .cellDestroyed(CellDestroyed(cellID: destroy.cellID))
        default:
            reply = .error(ErrorReply(code: "invalid_request", message: "not a request the broker sends"))
        }
        return NetnsdReply(message: reply, descriptors: descriptors)
    }

    func nextExit() throws(WireError) -> WorkloadExited {
        guard let exit = pendingExit.take() else { throw .peerClosed }
        return exit
    }

    func awaitEvent(timeoutMilliseconds: Int32) -> Bool {
        if pendingExit != nil { return true }
        usleep(UInt32(max(0, timeoutMilliseconds)) * 1000)
        return false
    }
}

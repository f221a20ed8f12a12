#if canImport(IPCWire)
import IPCWire
#endif

/// Why a cell could not be created, attached or destroyed.
public enum CellError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Attach mode was handed a descriptor that is not a network namespace.
    case notANetworkNamespace(FileIdentity?)
    /// Attach mode was handed the host's own network namespace.
    case hostNamespace(FileIdentity)
    /// A setup step failed; `step` says which, `reason` what the system said.
    case setupFailed(cell: String, step: String, reason: String)

    public var description: String {
        switch self {
        case .notANetworkNamespace(let identity):
            "the attach descriptor\(identity.map { " (\($0))" } ?? "") is not a network namespace"
        case .hostNamespace(let identity): "refusing to attach to the host's own network namespace (\(identity))"
        case .setupFailed(let cell, let step, let reason): "cell \(cell): \(step) failed: \(reason)"
        }
    }
}

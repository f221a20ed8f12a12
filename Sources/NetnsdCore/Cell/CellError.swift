#if canImport(Glibc)
import Glibc
#endif
#if canImport(IPCWire)
import IPCWire
#endif

/// Why a cell could not be created, attached or destroyed.
public enum CellError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Attach mode was handed a descriptor that is not a network namespace.
    case notANetworkNamespace(FileIdentity?)
    /// Attach mode was handed the host's own network namespace.
    case hostNamespace(FileIdentity)
    /// The daemon's uplinks carry IPv4 only (no `--uplink-pool6`), but an allow
    /// rule names an IPv6 destination the cell could never reach: refused before
    /// anything is created. `rule` is the rule's label (`r<id>`).
    case ipv6RuleWithoutIPv6Uplink(cell: String, rule: String, destination: String)
    /// A setup step failed; `step` says which, `reason` what the system said.
    case setupFailed(cell: String, step: String, reason: String)
    /// A setup step failed for want of descriptors, memory or namespaces (EMFILE,
    /// ENFILE, ENOMEM, ENOSPC): the request may succeed once resources are freed.
    case outOfResources(cell: String, step: String, reason: String)

    public var description: String {
        switch self {
        case .notANetworkNamespace(let identity):
            "the attach descriptor\(identity.map { " (\($0))" } ?? "") is not a network namespace"
        case .hostNamespace(let identity): "refusing to attach to the host's own network namespace (\(identity))"
        case .ipv6RuleWithoutIPv6Uplink(let cell, let rule, let destination):
            "cell \(cell): allow rule \(rule) names the IPv6 destination \(destination), but this daemon's uplinks carry IPv4 only (no --uplink-pool6), so it could never connect"
        case .setupFailed(let cell, let step, let reason): "cell \(cell): \(step) failed: \(reason)"
        case .outOfResources(let cell, let step, let reason): "cell \(cell): \(step) failed for want of resources: \(reason)"
        }
    }
}

extension CellError {
    /// `setupFailed`, or `outOfResources` when the system call ran out of something.
    static func failed(_ cell: String, _ step: String, _ error: any Error) -> CellError {
        if let system = error as? SystemCallError, Self.exhaustionErrors.contains(system.errno) {
            return .outOfResources(cell: cell, step: step, reason: "\(system)")
        }
        return .setupFailed(cell: cell, step: step, reason: "\(error)")
    }

    /// Descriptors (per process, system-wide), memory, and namespaces
    /// (`/proc/sys/user/max_net_namespaces` gives ENOSPC).
    static let exhaustionErrors: Set<Int32> = [EMFILE, ENFILE, ENOMEM, ENOSPC]
}

/// The capability-free helpers (cellos-dnsproxy, cellos-flowlog with inherited
/// sockets) refuse to start while holding any capability, unless the operator
/// says `--allow-capabilities`: a privileged start is a deployment mistake that
/// would otherwise go unnoticed.
public enum CapabilityRefusal {
    /// Throws unless `status` holds no effective or permitted capability, or `allowed`.
    public static func check(_ status: ProcessStatus, allowed: Bool) throws(CapabilityRefusalError) {
        guard allowed || (status.effective == 0 && status.permitted == 0) else {
            throw .holdsCapabilities(effective: status.effective, permitted: status.permitted)
        }
    }

    /// `check` on this process's `/proc/self/status`.
    public static func enforce(allowed: Bool) throws(CapabilityRefusalError) {
        let status: ProcessStatus
        do { status = try ProcessStatus.ofThisProcess() } catch { throw .unreadable(error) }
        try check(status, allowed: allowed)
    }
}

public enum CapabilityRefusalError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(ProcessStatusError)
    case holdsCapabilities(effective: UInt64, permitted: UInt64)

    public var description: String {
        switch self {
        case .unreadable(let error): "cannot check this process's capabilities: \(error)"
        case .holdsCapabilities(let effective, let permitted):
            "refusing to run with capabilities (CapEff=\(CapabilityMask.hex(effective)) CapPrm=\(CapabilityMask.hex(permitted))); "
                + "this helper needs none: start it as an unprivileged user, or pass --allow-capabilities"
        }
    }
}

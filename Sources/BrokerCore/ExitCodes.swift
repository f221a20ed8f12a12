/// The broker's exit status (docs/broker.md): the workload's own status when it
/// ran to its end; otherwise one of these, chosen outside the range shells use
/// for "not found" (127), "not executable" (126) and signals (128+N).
public enum BrokerExitCode {
    /// The workload outlived its timeout and was stopped (as timeout(1)).
    public static let timeout: Int32 = 124
    /// The spec or policy was refused, or the cell could not be set up.
    public static let setupFailure: Int32 = 125
    /// A helper (cellos-dnsproxy, cellos-flowlog) failed or died; the cell was torn down.
    public static let helperFailure: Int32 = 123
    /// `verify` found an event that does not verify; `audit` found excess capabilities.
    public static let checkFailed: Int32 = 1
}

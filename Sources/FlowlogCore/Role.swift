import IPCWire

/// Who this helper is in the suite, and the socket-activation names it accepts.
public enum FlowlogRole {
    public static let executableName = "cellos-flowlog"
    /// `LISTEN_FDNAMES` entries this helper is handed.
    public static let descriptorNames: [String] = ["nflog"]
}

import IPCWire

/// Who this helper is in the suite, and the socket-activation names it accepts.
public enum NetnsdRole {
    public static let executableName = "cellos-netnsd"
    /// `LISTEN_FDNAMES` entries this helper is handed.
    public static let descriptorNames: [String] = [controlSocketName]
    /// The `LISTEN_FDNAMES` name of a socket-activated control socket.
    public static let controlSocketName = "control"
}

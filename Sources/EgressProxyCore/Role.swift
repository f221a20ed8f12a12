import HelperRuntime

/// Who this helper is in the suite, and the socket-activation name it accepts.
public enum EgressProxyRole {
    public static let executableName = "cellos-egressproxy"
    /// What `--print-capabilities` prints: nothing is needed (the listener arrives
    /// bound inside the cell; upstream sockets are ordinary outgoing TCP and UDP).
    public static var capabilityDeclaration: String { CapabilityDeclaration.json([]) }
    /// `LISTEN_FDNAMES` entries: one or more listeners of this name (netnsd's
    /// IPv4 loopback listener), and any of `descriptorName6` (its `[::1]` one).
    public static let descriptorName = "l7-tcp"
    public static let descriptorName6 = "l7-tcp6"
}

import HelperRuntime

/// Who this helper is in the suite, and the socket-activation name it accepts.
public enum EgressProxyRole {
    public static let executableName = "cellos-egressproxy"
    /// What `--print-capabilities` prints: nothing is needed (the listener arrives
    /// bound inside the cell; upstream sockets are ordinary outgoing TCP and UDP).
    public static var capabilityDeclaration: String { CapabilityDeclaration.json([]) }
    /// `LISTEN_FDNAMES` entries: one or two (IPv4 and IPv6) listeners of this name.
    public static let descriptorName = "l7-tcp"
}

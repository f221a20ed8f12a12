import IPCWire

/// Who this helper is in the suite, and the socket-activation names it accepts.
public enum DNSProxyRole {
    public static let executableName = "cellos-dnsproxy"
    /// `LISTEN_FDNAMES` entries this helper is handed.
    public static let descriptorNames: [String] = ["dns-udp", "dns-tcp"]
}

import HelperRuntime
import IPCWire

/// Who this helper is in the suite, and the socket-activation names it accepts.
public enum FlowlogRole {
    public static let executableName = "cellos-flowlog"
    /// `LISTEN_FDNAMES` entries this helper is handed.
    /// What `--print-capabilities` prints: the declared capability set, which is
    /// empty (the sockets arrive bound; nothing here needs privilege), in the
    /// format `cellos-broker audit` reads.
    public static var capabilityDeclaration: String { CapabilityDeclaration.json([]) }
    public static let descriptorNames: [String] = ["nflog"]
}

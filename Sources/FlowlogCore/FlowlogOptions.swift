#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Everything `cellos-flowlog` is told on its command line.
public struct FlowlogOptions: Sendable, Equatable {
    /// Standalone mode: bind this group ourselves. Nil: use the inherited `nflog` socket.
    public var group: UInt16?
    /// Standalone mode: open the socket inside this network namespace.
    public var netnsPath: String?
    public var cellID: String
    public var prefix: String
    /// `-` for standard output.
    public var eventsPath: String
    public var allowCapabilities: Bool

    public init(group: UInt16? = nil, netnsPath: String? = nil, cellID: String = "", prefix: String = FlowPrefixParser.defaultPrefix,
                eventsPath: String = "-", allowCapabilities: Bool = false) {
        self.group = group
        self.netnsPath = netnsPath
        self.cellID = cellID
        self.prefix = prefix
        self.eventsPath = eventsPath
        self.allowCapabilities = allowCapabilities
    }
}

public enum FlowlogError: Error, Equatable, Sendable, CustomStringConvertible {
    case noSocket
    case netnsWithoutGroup
    case capabilitiesHeld(CapabilitySets)
    case capabilitiesUnreadable
    case notAnNflogSocket(String)
    case socket(NflogSocketError)
    case activation(ActivationError)
    case system(SystemCallError)
    case namespace(String)
    case confinement(ConfinementError)

    public var description: String {
        switch self {
        case .noSocket:
            "no NFLOG socket: pass --group N, or start with an inherited socket named 'nflog' (LISTEN_FDS/LISTEN_FDNAMES)"
        case .netnsWithoutGroup: "--netns needs --group (an inherited socket already lives in its namespace)"
        case .capabilitiesHeld(let sets):
            "refusing to run with capabilities (CapPrm \(String(sets.permitted, radix: 16)), CapEff \(String(sets.effective, radix: 16))): the inherited-socket mode needs none; drop them or pass --allow-capabilities"
        case .capabilitiesUnreadable: "cannot read CapPrm/CapEff from /proc/self/status"
        case .notAnNflogSocket(let why): "inherited 'nflog' descriptor is not an NFLOG socket: \(why)"
        case .socket(let error): error.description
        case .activation(let error): error.description
        case .system(let error): error.description
        case .namespace(let why): "--netns: \(why)"
        case .confinement(let error): "confinement: \(error)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
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
    /// Standalone mode started as root: whom to become once the socket is open
    /// (nil: `IdentityDrop.defaultTarget()`).
    public var user: AccountIdentity?

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
    case capabilities(CapabilityRefusalError)
    case notAnNflogSocket(String)
    case socket(NflogSocketError)
    case activation(ActivationError)
    case system(SystemCallError)
    case namespace(String)
    case confinement(ConfinementError)
    case privilegeDrop(IdentityDropError)

    public var description: String {
        switch self {
        case .noSocket:
            "no NFLOG socket: pass --group N, or start with an inherited socket named 'nflog' (LISTEN_FDS/LISTEN_FDNAMES)"
        case .netnsWithoutGroup: "--netns needs --group (an inherited socket already lives in its namespace)"
        case .capabilities(let error): "inherited-socket mode: \(error)"
        case .notAnNflogSocket(let why): "inherited 'nflog' descriptor is not an NFLOG socket: \(why)"
        case .socket(let error): error.description
        case .activation(let error): error.description
        case .system(let error): error.description
        case .namespace(let why): "--netns: \(why)"
        case .confinement(let error): "confinement: \(error)"
        case .privilegeDrop(let error): "--user: \(error)"
        }
    }
}

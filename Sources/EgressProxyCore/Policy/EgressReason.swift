/// The `reason` of an `l7_egress_decision` event (docs/egressproxy.md).
public enum EgressReason: String, Equatable, Sendable, CaseIterable {
    case allowed
    case deniedName = "denied_name"
    case deniedPort = "denied_port"
    /// ECH, or a ClientHello without `server_name`: nothing to decide on.
    case noSNI = "no_sni"
    /// The CONNECT target and the SNI or `Host` inside the tunnel disagree, or an
    /// absolute URI and its `Host`.
    case nameMismatch = "name_mismatch"
    /// Not a ClientHello or request head the parsers accept, too large, or not
    /// complete before the handshake timeout.
    case malformed
    case upstreamUnresolved = "upstream_unresolved"
    case upstreamRefused = "upstream_refused"
    case upstreamTimeout = "upstream_timeout"

    public var decision: String { self == .allowed ? "allow" : "deny" }
}

/// Why the proxy answered (or did not answer) a query the way it did: the
/// `reason` field of an event.
public enum QueryReason: UInt8, Sendable, CaseIterable {
    case allowed
    case deniedName
    case deniedQueryType
    case malformedQuery
    case upstreamTimeout
    case upstreamFailure

    public var code: String {
        switch self {
        case .allowed: "allowed"
        case .deniedName: "denied_name"
        case .deniedQueryType: "denied_qtype"
        case .malformedQuery: "malformed_query"
        case .upstreamTimeout: "upstream_timeout"
        case .upstreamFailure: "upstream_failure"
        }
    }

    /// The policy decision: `allow` when the policy let the query through (even if the
    /// upstream then failed it), `deny` otherwise.
    public var decision: String {
        switch self {
        case .allowed, .upstreamTimeout, .upstreamFailure: "allow"
        case .deniedName, .deniedQueryType, .malformedQuery: "deny"
        }
    }
}

/// Transport a query arrived on.
public enum QueryTransport: UInt8, Sendable {
    case udp
    case tcp

    var name: String { self == .udp ? "udp" : "tcp" }
}

/// One event in its compact queued form: no strings, so queueing allocates nothing.
/// The name bytes travel separately (see `EventQueue`).
struct QueryEventRecord {
    var realtimeNanoseconds: Int64 = 0
    var client = SocketAddress()
    var transport = QueryTransport.udp
    var reason = QueryReason.allowed
    /// -1: no question could be read.
    var queryType: Int32 = -1
    /// -1: no answer was sent.
    var responseCode: Int16 = -1
    /// -1: the upstream was not asked.
    var upstreamLatencyMicroseconds: Int64 = -1
    var malformed: MalformedQuery?
    var nameLength: Int = 0

    init() {}

    /// The one way a query's outcome becomes a record (the time is stamped by `emit`).
    init(
        client: SocketAddress, transport: QueryTransport, reason: QueryReason, queryType: Int32 = -1,
        responseCode: Int16 = -1, upstreamLatencyMicroseconds: Int64 = -1, malformed: MalformedQuery? = nil
    ) {
        self.client = client
        self.transport = transport
        self.reason = reason
        self.queryType = queryType
        self.responseCode = responseCode
        self.upstreamLatencyMicroseconds = upstreamLatencyMicroseconds
        self.malformed = malformed
    }
}

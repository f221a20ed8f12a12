// Pure Swift (no C targets): compiled into the libFuzzer targets as well.

/// How a connection reached the listener.
public enum Arrival: Equatable, Sendable {
    /// Redirected by the cell's nft table; `port` is the original destination port.
    case transparent(port: UInt16)
    /// Addressed to the listener itself (`HTTPS_PROXY`/`HTTP_PROXY`).
    case explicit
}

public enum WireProtocol: String, Equatable, Sendable {
    case tls, http
}

/// What the first bytes of a connection ask for, before any policy.
public enum Inspection: Equatable, Sendable {
    case needMore
    /// An explicit proxy's `CONNECT host:port`; `consumed` head bytes are answered,
    /// not forwarded, and the tunnel's own first bytes are inspected next
    /// (`FirstBytes.tunnel`).
    case connect(Authority, consumed: Int)
    /// Reach `name:port` and send `forward` first (the bytes read, with an
    /// absolute-form request line rewritten to origin form).
    case reach(name: String, port: UInt16, proto: WireProtocol, forward: [UInt8])
    case refused(Refusal)
}

public struct Refusal: Equatable, Sendable, Error {
    /// `no_sni`, `name_mismatch` or `malformed` (`EgressReason`'s raw values).
    public var reason: String
    public var detail: String
    public var name: String?
    public var proto: WireProtocol

    public init(reason: String, detail: String, name: String? = nil, proto: WireProtocol) {
        self.reason = reason
        self.detail = detail
        self.name = name
        self.proto = proto
    }
}

/// Reads the name a connection is for out of its first bytes: a TLS ClientHello
/// (first byte 22) or an HTTP/1.1 request head.
public enum FirstBytes {
    public struct Limits: Sendable {
        public var maxClientHello: Int
        public var maxHead: Int

        public init(maxClientHello: Int = 32_768, maxHead: Int = 8192) {
            self.maxClientHello = maxClientHello
            self.maxHead = maxHead
        }
    }

    public static func inspect(_ bytes: UnsafeRawBufferPointer, arrival: Arrival, limits: Limits = Limits()) -> Inspection {
        guard let first = bytes.first else { return .needMore }
        if first == ClientHelloParser.handshakeContentType {
            guard case .transparent(let port) = arrival else {
                return .refused(Refusal(reason: "malformed", detail: "tls_to_explicit_proxy", proto: .tls))
            }
            return tls(bytes, port: port, expected: nil, limits: limits)
        }
        switch HTTPRequestParser.parse(bytes, maxHeadLength: limits.maxHead) {
        case .needMore: return .needMore
        case .malformed(let why): return .refused(Refusal(reason: "malformed", detail: why.rawValue, proto: .http))
        case .complete(let head):
            switch head.target {
            case .authority(let authority):
                return .connect(authority, consumed: head.length)
            case .absolute(let authority, let path):
                let port = authority.port ?? 80
                if let host = head.host, host.host != authority.host || (host.port ?? 80) != port {
                    return .refused(Refusal(reason: "name_mismatch", detail: "host_header_vs_uri", name: authority.host, proto: .http))
                }
                var forward = Array(bytes[..<head.targetRange.lowerBound])
                forward.append(contentsOf: path.utf8)
                forward.append(contentsOf: bytes[head.targetRange.upperBound...])
                return .reach(name: authority.host, port: port, proto: .http, forward: forward)
            case .origin:
                let host = head.host!  // the parser requires Host for origin form
                let port: UInt16
                if case .transparent(let original) = arrival {
                    // The packet's port is what the nft rule matched; a Host naming another is a lie about it.
                    if let named = host.port, named != original {
                        return .refused(Refusal(reason: "name_mismatch", detail: "host_port_vs_destination", name: host.host, proto: .http))
                    }
                    port = original
                } else {
                    port = host.port ?? 80
                }
                return .reach(name: host.host, port: port, proto: .http, forward: Array(bytes))
            }
        }
    }

    /// The first bytes inside an allowed CONNECT tunnel to `expected`: a
    /// ClientHello whose SNI, or a request head whose `Host`, must name the same host.
    public static func tunnel(_ bytes: UnsafeRawBufferPointer, expected: Authority, limits: Limits = Limits()) -> Inspection {
        guard let first = bytes.first else { return .needMore }
        let port = expected.port ?? 443
        if first == ClientHelloParser.handshakeContentType { return tls(bytes, port: port, expected: expected.host, limits: limits) }
        switch HTTPRequestParser.parse(bytes, maxHeadLength: limits.maxHead) {
        case .needMore: return .needMore
        case .malformed(let why): return .refused(Refusal(reason: "malformed", detail: why.rawValue, proto: .http))
        case .complete(let head):
            guard case .origin = head.target, let host = head.host else {
                return .refused(Refusal(reason: "malformed", detail: "not_origin_form_in_tunnel", proto: .http))
            }
            guard host.host == expected.host else {
                return .refused(Refusal(reason: "name_mismatch", detail: "connect_vs_host", name: expected.host, proto: .http))
            }
            return .reach(name: expected.host, port: port, proto: .http, forward: Array(bytes))
        }
    }

    static func tls(_ bytes: UnsafeRawBufferPointer, port: UInt16, expected: String?, limits: Limits) -> Inspection {
        switch ClientHelloParser.parse(bytes, maxHandshakeLength: limits.maxClientHello) {
        case .needMore: return .needMore
        case .malformed(let why): return .refused(Refusal(reason: "malformed", detail: why.rawValue, proto: .tls))
        case .noServerName(let cause): return .refused(Refusal(reason: "no_sni", detail: cause.rawValue, name: expected, proto: .tls))
        case .found(let name):
            if let expected, expected != name {
                return .refused(Refusal(reason: "name_mismatch", detail: "connect_vs_sni", name: expected, proto: .tls))
            }
            return .reach(name: name, port: port, proto: .tls, forward: Array(bytes))
        }
    }
}

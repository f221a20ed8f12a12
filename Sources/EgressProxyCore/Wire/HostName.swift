// Pure Swift (no C targets): compiled into the libFuzzer targets as well.

/// A server name as a client sent it (SNI, `Host`, a CONNECT or absolute-URI
/// authority), checked to be a plain DNS host name: labels of letters, digits,
/// '-' and '_', 1...63 octets each, at most 253 octets, lower-cased, no trailing
/// dot. Anything else (an IP literal included) is not a name the policy can
/// allow, and the connection is refused as malformed.
public enum HostName {
    public static let maxLength = 253

    /// The lower-cased name, or nil when `bytes` is not a host name.
    public static func validated(_ bytes: some Collection<UInt8>) -> String? {
        guard (1...maxLength).contains(bytes.count) else { return nil }
        var lowered: [UInt8] = []
        lowered.reserveCapacity(bytes.count)
        var labelLength = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "."):
                guard (1...63).contains(labelLength) else { return nil }
                labelLength = 0
                lowered.append(byte)
                continue
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): lowered.append(byte | 0x20)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"):
                lowered.append(byte)
            default: return nil
            }
            labelLength += 1
        }
        guard (1...63).contains(labelLength) else { return nil }
        return String(decoding: lowered, as: UTF8.self)
    }
}

/// `host[:port]` or `[v6]:port` as HTTP writes an authority (RFC 9110 §4.2.3).
public struct Authority: Equatable, Sendable, CustomStringConvertible {
    public var host: String
    /// nil when the authority names none (the scheme's default applies).
    public var port: UInt16?

    public init(host: String, port: UInt16?) {
        self.host = host
        self.port = port
    }

    /// Parses an authority whose host is a host name; bracketed IPv6 and IPv4
    /// literals are refused (nil) like every other non-name.
    public static func parse(_ bytes: some Collection<UInt8>) -> Authority? {
        let text = Array(bytes)
        guard let first = text.first, first != UInt8(ascii: "[") else { return nil }
        var hostBytes = text[...]
        var port: UInt16?
        if let colon = text.lastIndex(of: UInt8(ascii: ":")) {
            hostBytes = text[..<colon]
            let digits = text[(colon + 1)...]
            guard (1...5).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                  let value = UInt16(String(decoding: digits, as: UTF8.self)), value != 0 else { return nil }
            port = value
        }
        guard let host = HostName.validated(hostBytes), !HostName.looksNumeric(host) else { return nil }
        return Authority(host: host, port: port)
    }

    public var description: String { port.map { "\(host):\($0)" } ?? host }
}

extension HostName {
    /// An all-digits-and-dots name is an IPv4 literal in disguise, not a name.
    static func looksNumeric(_ name: String) -> Bool {
        name.utf8.allSatisfy { $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

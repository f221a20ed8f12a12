/// The text split of `ADDR:PORT`, `[IPv6]:PORT` or a bare address: the one
/// parser of that syntax. It only splits; each caller parses the host and the
/// port and words the `SyntaxError` for its own field (netnsd's policy, the
/// broker's spec and shortcuts, the proxies' `--listen`/`--upstream`).
public struct HostPort: Equatable, Sendable {
    /// The address text, without brackets.
    public let host: Substring
    /// The text after the port colon, if there is one.
    public let port: Substring?
    /// Whether the host was written in brackets.
    public let bracketed: Bool

    /// What is wrong with the text's shape.
    public enum SyntaxError: Error, Equatable, Sendable {
        /// `[` without a closing `]`.
        case unclosedBracket
        /// Text after `]` that does not start with `:`.
        case textAfterBracket
    }

    /// `[host]`, `[host]:port`, `host:port` (exactly one colon), or else the whole
    /// text as the host (an address alone, IPv6 without brackets included).
    public static func split(_ text: some StringProtocol) throws(SyntaxError) -> HostPort {
        let text = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .unclosedBracket }
            let host = text[text.index(after: text.startIndex) ..< close]
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return HostPort(host: host, port: nil, bracketed: true) }
            guard rest.hasPrefix(":") else { throw .textAfterBracket }
            return HostPort(host: host, port: rest.dropFirst(), bracketed: true)
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return HostPort(host: text[..<colon], port: text[text.index(after: colon)...], bracketed: false)
        }
        return HostPort(host: text, port: nil, bracketed: false)
    }
}

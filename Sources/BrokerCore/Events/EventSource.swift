import HelperRuntime

/// The CloudEvent `source`: an absolute URI, `BASE` + the emitting program's name.
/// The default base is `urn:cellos:<host>:` (so `urn:cellos:web-3:cellos-dnsproxy`);
/// `run --event-source BASE` (or `CELLOS_BROKER_EVENT_SOURCE`) sets a fleet's own,
/// e.g. `https://cells.example.com/web-3/`.
public enum EventSource {
    public static func defaultBase(host: String) -> String { "urn:cellos:\(host):" }

    /// A base must make an absolute URI (RFC 3986 scheme, then `:`) and needs no
    /// quoting: printable ASCII without space, `"`, `<`, `>`, `\`, `^`, backquote, `{`, `|`, `}`.
    public static func validateBase(_ base: String, field: String) throws(SpecError) -> String {
        let bytes = Array(base.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            bytes[0].isASCIILetter,
            bytes[1..<colon].allSatisfy({ $0.isASCIILetter || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") })
        else { throw SpecError(field: field, value: JSONBytes.quoted(base), problem: "is not an absolute URI (it needs a scheme, e.g. urn:cellos:web-3:)") }
        guard bytes.count <= 200, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !Array(#""<>\^`{|}"#.utf8).contains($0) }) else {
            throw SpecError(field: field, value: JSONBytes.quoted(base), problem: "has a character a URI must quote, or is longer than 200 bytes")
        }
        return base
    }
}

extension UInt8 {
    fileprivate var isASCIILetter: Bool { (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z") }
}

#if canImport(HelperRuntime)
import HelperRuntime
#endif

/// The one way the broker writes JSON (docs/events.md, "Signed form"):
///
/// - no whitespace outside strings;
/// - object keys sorted by their UTF-16 code units (RFC 8785 §3.2.3);
/// - strings escaped as `JSONBytes.appendQuoted` does (RFC 8785's rules);
/// - numbers exactly as they were written (see `JSONValue.number`), or, in the
///   signed form (`canonicalBytes()`), as RFC 8785 writes them (ECMAScript's
///   shortest round-trip form of the IEEE 754 double).
///
/// So an event line differs from its RFC 8785 canonical form only where a
/// number was written in another spelling (`1.0`, `1e2`).
extension JSONValue {
    public func serialized() -> String { String(decoding: serializedBytes(), as: UTF8.self) }

    public func serializedBytes() -> [UInt8] {
        var out: [UInt8] = []
        write(into: &out, canonicalNumbers: false)
        return out
    }

    /// RFC 8785 (JCS) canonical bytes; nil when a number is not finite as a double
    /// (JCS has no form for it).
    public func canonicalBytes() -> [UInt8]? {
        var out: [UInt8] = []
        return write(into: &out, canonicalNumbers: true) ? out : nil
    }

    @discardableResult
    private func write(into out: inout [UInt8], canonicalNumbers: Bool) -> Bool {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .number(let text):
            if canonicalNumbers {
                guard let canonical = JCSNumber.format(text) else { return false }
                out += Array(canonical.utf8)
            } else {
                out += Array(text.utf8)
            }
        case .string(let text): JSONBytes.appendQuoted(text, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                guard element.write(into: &out, canonicalNumbers: canonicalNumbers) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            for (position, key) in keys.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                JSONBytes.appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard members[key]!.write(into: &out, canonicalNumbers: canonicalNumbers) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        }
        return true
    }
}

/// RFC 8785 §3.2.2.3: a JSON number as ECMAScript's Number.prototype.toString
/// writes the double nearest to it.
enum JCSNumber {
    static func format(_ text: String) -> String? {
        guard let value = Double(text), value.isFinite else { return nil }
        if value == 0 { return "0" }
        if value < 0 { return format(String((-value).description)).map { "-" + $0 } }
        // Swift's description is the shortest round-trip digit string too; only the layout differs.
        let description = value.description
        let parts = description.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0]
        var exponent = parts.count == 2 ? Int(parts[1])! : 0
        let pieces = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        var digits = String(pieces[0]) + (pieces.count == 2 ? String(pieces[1]) : "")
        exponent += pieces[0].count  // value = 0.digits × 10^exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        let k = digits.count
        let n = exponent
        if k <= n && n <= 21 { return digits + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 { return String(digits.prefix(n)) + "." + String(digits.dropFirst(n)) }
        if -6 < n && n <= 0 { return "0." + String(repeating: "0", count: -n) + digits }
        let e = n - 1
        let sign = e < 0 ? "-" : "+"
        let head = k == 1 ? digits : String(digits.prefix(1)) + "." + String(digits.dropFirst())
        return head + "e" + sign + String(abs(e))
    }
}

/// The five capability masks of a process as `/proc/<pid>/status` reports them
/// (of its main thread).
public struct ProcessCapabilityStatus: Equatable, Sendable {
    public var inheritable: UInt64
    public var permitted: UInt64
    public var effective: UInt64
    public var bounding: UInt64
    public var ambient: UInt64

    /// Parses the `CapInh/CapPrm/CapEff/CapBnd/CapAmb` lines of a status file; all
    /// five must be present exactly once with a hex value.
    public init(statusText: String) throws(CapabilityStatusError) {
        var found: [String: UInt64] = [:]
        for line in statusText.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].hasPrefix("Cap") else { continue }
            let key = String(parts[0])
            guard found[key] == nil else { throw .duplicate(key) }
            let text = parts[1].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            guard let value = UInt64(text, radix: 16) else { throw .badValue(key, String(text)) }
            found[key] = value
        }
        func take(_ key: String) throws(CapabilityStatusError) -> UInt64 {
            guard let value = found[key] else { throw .missing(key) }
            return value
        }
        inheritable = try take("CapInh")
        permitted = try take("CapPrm")
        effective = try take("CapEff")
        bounding = try take("CapBnd")
        ambient = try take("CapAmb")
    }
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var rest = self[...]
        while let first = rest.first, predicate(first) { rest = rest.dropFirst() }
        return rest
    }
}

public enum CapabilityStatusError: Error, Equatable, Sendable {
    case missing(String)
    case duplicate(String)
    case badValue(String, String)
}

#if canImport(HelperRuntime)
import HelperRuntime
#endif

/// An IPv4 or IPv6 address as it appeared on the wire.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    /// Dotted quad, or RFC 5952 text (lowercase, longest run of two or more zero
    /// groups compressed to `::`, the first such run on a tie).
    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let high, let low):
            let groups = (0..<8).map { index -> UInt16 in
                let half = index < 4 ? high : low
                return UInt16(truncatingIfNeeded: half >> (UInt64(3 - index % 4) * 16))
            }
            var bestStart = -1, bestLength = 0, runStart = -1
            for index in 0...8 {
                if index < 8 && groups[index] == 0 {
                    if runStart < 0 { runStart = index }
                } else if runStart >= 0 {
                    if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                    runStart = -1
                }
            }
            if bestLength < 2 { return groups.map { String($0, radix: 16) }.joined(separator: ":") }
            let head = groups[..<bestStart].map { String($0, radix: 16) }.joined(separator: ":")
            let tail = groups[(bestStart + bestLength)...].map { String($0, radix: 16) }.joined(separator: ":")
            return head + "::" + tail
        }
    }
}

extension IPAddress {
    /// The same text as `description`, appended as bytes (IPv4 without allocating).
    func appendText(to bytes: inout [UInt8]) {
        switch self {
        case .v4(let value):
            for shift in [24, 16, 8, 0] as [UInt32] {
                if shift != 24 { bytes.append(UInt8(ascii: ".")) }
                JSONBytes.appendDecimal(UInt8(truncatingIfNeeded: value >> shift), to: &bytes)
            }
        case .v6:
            bytes.append(contentsOf: description.utf8)
        }
    }
}

// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// The set of query types the proxy forwards, as a 65536-bit bitmap (one load and
/// a mask per query).
public struct QueryTypeAllowlist: Sendable, Equatable {
    /// A, AAAA, CNAME, HTTPS.
    public static let defaultTypes: [UInt16] = [1, 28, 5, 65]

    private var words = [UInt64](repeating: 0, count: 1024)
    public private(set) var types: [UInt16] = []

    public init(_ types: [UInt16]) {
        for type in types where !allows(type) {
            words[Int(type >> 6)] |= 1 << UInt64(type & 63)
            self.types.append(type)
        }
    }

    @inline(__always)
    public func allows(_ type: UInt16) -> Bool {
        words[Int(type >> 6)] & (1 << UInt64(type & 63)) != 0
    }
}

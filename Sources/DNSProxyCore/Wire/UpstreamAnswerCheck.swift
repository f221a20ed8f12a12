// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// An IP endpoint reduced to what comparing a datagram's source needs.
public struct EndpointKey: Equatable, Hashable, Sendable {
    public let family: UInt16
    public let port: UInt16
    public let addressHigh: UInt64
    public let addressLow: UInt64

    public init(family: UInt16, port: UInt16, addressHigh: UInt64, addressLow: UInt64) {
        self.family = family
        self.port = port
        self.addressHigh = addressHigh
        self.addressLow = addressLow
    }
}

/// Why an upstream datagram was dropped instead of relayed.
public enum UpstreamAnswerProblem: Error, Equatable, Sendable {
    case wrongSource
    case shorterThanHeader
    case notAResponse
    case idMismatch
    case questionCount
    case questionMismatch
}

/// The anti-spoofing rule: an upstream datagram is relayed only if it comes from
/// the upstream's address, is a response, carries the ID the proxy sent and echoes
/// the question the proxy asked (name compared without regard to ASCII case, since
/// resolvers may not keep 0x20 case; type and class exactly).
public enum UpstreamAnswerCheck {
    public static func check(
        _ answer: UnsafeRawBufferPointer, from source: EndpointKey, expectedSource: EndpointKey,
        expectedID: UInt16, question: UnsafeRawBufferPointer
    ) throws(UpstreamAnswerProblem) {
        guard source == expectedSource else { throw .wrongSource }
        guard answer.count >= DNSHeader.length else { throw .shorterThanHeader }
        guard DNSHeader.u16(answer, 0) == expectedID else { throw .idMismatch }
        guard DNSHeader.u16(answer, 2) & DNSHeader.flagQR != 0 else { throw .notAResponse }
        guard DNSHeader.u16(answer, 4) == 1 else { throw .questionCount }
        let end = DNSHeader.length + question.count
        guard end <= answer.count else { throw .questionMismatch }
        // Both are uncompressed names of equal length, and length octets (≤ 63) are
        // never ASCII letters, so a byte-wise case-folded compare also compares the
        // label structure.
        for index in 0 ..< question.count
        where asciiLower(answer[DNSHeader.length + index]) != asciiLower(question[index]) {
            throw .questionMismatch
        }
    }

    @inline(__always)
    static func asciiLower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }
}

// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// Offsets, bits and codes of the 12-byte DNS header (RFC 1035 §4.1.1).
public enum DNSHeader {
    public static let length = 12
    public static let flagQR: UInt16 = 0x8000
    public static let opcodeMask: UInt16 = 0x7800
    public static let flagTC: UInt16 = 0x0200
    public static let flagRD: UInt16 = 0x0100
    public static let flagCD: UInt16 = 0x0010
    public static let rcodeMask: UInt16 = 0x000F
    /// Opcode 0: a standard query; the only one the proxy forwards.
    public static let opcodeQuery: UInt16 = 0

    @inline(__always)
    static func u16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    @inline(__always)
    static func setU16(_ bytes: UnsafeMutableRawBufferPointer, _ offset: Int, _ value: UInt16) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xFF)
    }
}

/// Class IN, the only class the proxy forwards.
public let dnsClassIN: UInt16 = 1

/// Response codes the proxy produces or names in events (RFC 1035, RFC 6895).
public enum DNSResponseCode {
    public static let noError: UInt8 = 0
    public static let formErr: UInt8 = 1
    public static let servFail: UInt8 = 2
    public static let nxDomain: UInt8 = 3
    public static let notImp: UInt8 = 4
    public static let refused: UInt8 = 5

    /// The mnemonic of `code` (`RCODE<n>` for codes without one).
    public static func name(_ code: UInt8) -> String {
        switch code {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        default: "RCODE\(code)"
        }
    }
}

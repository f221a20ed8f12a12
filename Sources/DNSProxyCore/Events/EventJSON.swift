#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime

/// Renders one event as a JSON line (documented in docs/dnsproxy.md):
///
/// {"type":"dns_query","time":"2026-11-25T16:00:00.123456Z","cell_id":"c1","transport":"udp",
///  "client":"127.0.0.1:40000","qname":"allowed.test","qtype":"A","decision":"allow",
///  "reason":"allowed","rcode":"NOERROR","upstream_latency_us":312}
///
/// Absent values are `null`; malformed queries add `"detail"`. Rendering writes
/// bytes straight into the output buffer (no intermediate Strings): at tens of
/// thousands of queries per second the writer thread shares the CPUs with the loop.
struct EventJSON {
    let cellID: [UInt8]
    private var cachedSecond: Int64 = -1
    private var cachedDate: [UInt8] = []

    init(cellID: String) {
        self.cellID = Array(cellID.utf8)
    }

    mutating func render(_ record: QueryEventRecord, name: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(contentsOf: Self.timeKey)
        appendTime(record.realtimeNanoseconds, into: &out)
        out.append(contentsOf: Self.cellKey)
        out.append(contentsOf: cellID)
        out.append(contentsOf: Self.transportKey)
        out.append(contentsOf: record.transport == .udp ? Self.udp : Self.tcp)
        out.append(contentsOf: Self.clientKey)
        Self.appendAddress(record.client, into: &out)
        out.append(contentsOf: Self.qnameKey)
        if name.count > 0 {
            out.append(UInt8(ascii: "\""))
            Self.appendName(name, into: &out)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: Self.null)
        }
        out.append(contentsOf: Self.qtypeKey)
        if record.queryType >= 0 {
            out.append(UInt8(ascii: "\""))
            let type = UInt16(record.queryType)
            if let mnemonic = DNSQueryType.mnemonics.first(where: { $0.1 == type }) {
                out.append(contentsOf: mnemonic.0.utf8)
            } else {
                out.append(contentsOf: Self.typePrefix)
                JSONBytes.appendDecimal(type, to: &out)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: Self.null)
        }
        out.append(contentsOf: Self.decisionKey)
        out.append(contentsOf: record.reason.decision.utf8)
        out.append(contentsOf: Self.reasonKey)
        out.append(contentsOf: record.reason.code.utf8)
        out.append(contentsOf: Self.rcodeKey)
        if record.responseCode >= 0 {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: Self.rcodeNames[Int(record.responseCode) & 0x0F])
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: Self.null)
        }
        out.append(contentsOf: Self.latencyKey)
        if record.upstreamLatencyMicroseconds >= 0 {
            JSONBytes.appendDecimal(record.upstreamLatencyMicroseconds, to: &out)
        } else {
            out.append(contentsOf: Self.null)
        }
        if let malformed = record.malformed {
            out.append(contentsOf: Self.detailKey)
            out.append(contentsOf: malformed.detail.utf8)
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
    }

    static let timeKey = Array(#"{"type":"dns_query","time":""#.utf8)
    static let cellKey = Array(#"","cell_id":""#.utf8)
    static let transportKey = Array(#"","transport":""#.utf8)
    static let clientKey = Array(#"","client":""#.utf8)
    static let qnameKey = Array(#"","qname":"#.utf8)
    static let qtypeKey = Array(#","qtype":"#.utf8)
    static let decisionKey = Array(#","decision":""#.utf8)
    static let reasonKey = Array(#"","reason":""#.utf8)
    static let rcodeKey = Array(#"","rcode":"#.utf8)
    static let latencyKey = Array(#","upstream_latency_us":"#.utf8)
    static let detailKey = Array(#","detail":""#.utf8)
    static let null = Array("null".utf8)
    static let udp = Array("udp".utf8)
    static let tcp = Array("tcp".utf8)
    static let typePrefix = Array("TYPE".utf8)
    static let rcodeNames = (0 ..< 16).map { Array(DNSResponseCode.name(UInt8($0)).utf8) }

    /// `RFC3339`'s form; the date and time up to the second is cached.
    private mutating func appendTime(_ nanoseconds: Int64, into out: inout [UInt8]) {
        let second = nanoseconds / 1_000_000_000
        if second != cachedSecond {
            cachedDate.removeAll(keepingCapacity: true)
            RFC3339.appendSeconds(second, to: &cachedDate)
            cachedSecond = second
        }
        out.append(contentsOf: cachedDate)
        RFC3339.appendFraction(microseconds: nanoseconds % 1_000_000_000 / 1000, to: &out)
    }

    /// "a.b.c.d:port" for IPv4 without inet_ntop; IPv6 through it, as "[addr]:port".
    static func appendAddress(_ address: SocketAddress, into out: inout [UInt8]) {
        if address.family == AF_INET {
            let key = address.key
            let value = UInt32(truncatingIfNeeded: key.addressLow)
            for shift in stride(from: 24, through: 0, by: -8) {
                JSONBytes.appendDecimal((value >> UInt32(shift)) & 0xFF, to: &out)
                out.append(shift == 0 ? UInt8(ascii: ":") : UInt8(ascii: "."))
            }
            JSONBytes.appendDecimal(key.port, to: &out)
        } else {
            out.append(contentsOf: address.description.utf8)
        }
    }

    /// Presentation form (see `DomainNameText.presentation`) with JSON's backslash doubling.
    static func appendName(_ name: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var cursor = 0
        var first = true
        while cursor < name.count {
            let length = Int(name[cursor])
            if length == 0 { break }
            if !first { out.append(UInt8(ascii: ".")) }
            first = false
            for byte in name[(cursor + 1) ..< min(cursor + 1 + length, name.count)] {
                let lower = UpstreamAnswerCheck.asciiLower(byte)
                switch lower {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "*"):
                    out.append(lower)
                case UInt8(ascii: "."):
                    out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
                    out.append(lower)
                case UInt8(ascii: "\\"):
                    // Presentation `\\`, each backslash doubled for JSON.
                    for _ in 0 ..< 4 { out.append(UInt8(ascii: "\\")) }
                default:
                    out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\"))
                    JSONBytes.appendDigits(Int(lower), width: 3, to: &out)
                }
            }
            cursor += 1 + length
        }
        if first { out.append(UInt8(ascii: ".")) }
    }
}

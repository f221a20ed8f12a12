#if canImport(Glibc)
import Glibc
#endif

/// Renders one event as a JSON line (documented in docs/dnsproxy.md):
///
/// {"time":"2026-11-25T16:00:00.123456Z","cell_id":"c1","transport":"udp",
///  "client":"127.0.0.1:40000","qname":"allowed.test","qtype":"A","decision":"allow",
///  "reason":"allowed","rcode":"NOERROR","upstream_latency_us":312}
///
/// Absent values are `null`; malformed queries add `"detail"`.
struct EventJSON {
    let cellID: [UInt8]

    init(cellID: String) {
        self.cellID = Array(cellID.utf8)
    }

    func render(_ record: QueryEventRecord, name: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"time":""#.utf8)
        appendTime(record.realtimeNanoseconds, into: &out)
        out.append(contentsOf: #"","cell_id":""#.utf8)
        out.append(contentsOf: cellID)
        out.append(contentsOf: #"","transport":""#.utf8)
        out.append(contentsOf: record.transport.name.utf8)
        out.append(contentsOf: #"","client":""#.utf8)
        out.append(contentsOf: record.client.description.utf8)
        out.append(contentsOf: #"","qname":"#.utf8)
        if name.count > 0 {
            out.append(UInt8(ascii: "\""))
            // Presentation form escapes with '\', which JSON needs doubled.
            for byte in DomainNameText.presentation(name).utf8 {
                if byte == UInt8(ascii: "\\") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","qtype":"#.utf8)
        if record.queryType >= 0 {
            out.append(contentsOf: "\"\(DNSQueryType.name(UInt16(record.queryType)))\"".utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","decision":""#.utf8)
        out.append(contentsOf: record.reason.decision.utf8)
        out.append(contentsOf: #"","reason":""#.utf8)
        out.append(contentsOf: record.reason.code.utf8)
        out.append(contentsOf: #"","rcode":"#.utf8)
        if record.responseCode >= 0 {
            out.append(contentsOf: "\"\(DNSResponseCode.name(UInt8(record.responseCode)))\"".utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        out.append(contentsOf: #","upstream_latency_us":"#.utf8)
        out.append(contentsOf: (record.upstreamLatencyMicroseconds >= 0 ? "\(record.upstreamLatencyMicroseconds)" : "null").utf8)
        if let malformed = record.malformed {
            out.append(contentsOf: #","detail":""#.utf8)
            out.append(contentsOf: malformed.detail.utf8)
            out.append(UInt8(ascii: "\""))
        }
        out.append(contentsOf: "}\n".utf8)
    }

    /// RFC 3339 UTC with microseconds.
    private func appendTime(_ nanoseconds: Int64, into out: inout [UInt8]) {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1 ..< width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(Int(nanoseconds % 1_000_000_000 / 1000), 6); out.append(UInt8(ascii: "Z"))
    }
}

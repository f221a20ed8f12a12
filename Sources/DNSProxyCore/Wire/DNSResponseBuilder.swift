// Pure Swift (no C targets): compiled into the libFuzzer target as well.

/// Builds the proxy's own answers (REFUSED for policy denials, SERVFAIL when the
/// upstream fails): header plus the client's question echoed byte for byte, so its
/// letter case (0x20 randomisation) and ID come back unchanged. No records.
public enum DNSResponseBuilder {
    /// Bytes an answer to a question of `nameLength` needs.
    public static func length(nameLength: Int) -> Int { DNSHeader.length + nameLength + 4 }

    /// Writes the answer into `out` and returns its length (0 when `out` is too small).
    /// `question` is the client's question section (name, type, class).
    public static func answer(
        rcode: UInt8, id: UInt16, queryFlags: UInt16, question: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) -> Int {
        let total = DNSHeader.length + question.count
        guard out.count >= total else { return 0 }
        // QR, the query's opcode, RD and CD echoed; AA, TC, AD clear; RA set (the proxy
        // offers recursion through its upstream).
        let flags = DNSHeader.flagQR | (queryFlags & (DNSHeader.opcodeMask | DNSHeader.flagRD | DNSHeader.flagCD))
            | 0x0080 | UInt16(rcode & 0x0F)
        DNSHeader.setU16(out, 0, id)
        DNSHeader.setU16(out, 2, flags)
        DNSHeader.setU16(out, 4, 1)
        DNSHeader.setU16(out, 6, 0)
        DNSHeader.setU16(out, 8, 0)
        DNSHeader.setU16(out, 10, 0)
        UnsafeMutableRawBufferPointer(rebasing: out[DNSHeader.length ..< total]).copyMemory(from: question)
        return total
    }

    /// The same for a query still in its receive buffer.
    public static func answer(
        rcode: UInt8, to query: DNSQuery, in datagram: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) -> Int {
        answer(rcode: rcode, id: query.id, queryFlags: query.flags,
               question: UnsafeRawBufferPointer(rebasing: datagram[query.questionRange]), into: out)
    }
}

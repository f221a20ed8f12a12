// libFuzzer target: the DNS proxy's strict query parser and its upstream-answer
// check on arbitrary datagrams. Any input must end in a parsed query or a
// MalformedQuery, and in an accepted or dropped answer: never a crash or hang.
// For an accepted query, the proxy's own REFUSED answer must pass the same check
// an upstream answer has to pass (ID and question echoed).

let allowlist = NameAllowlist(["example.com", "*.example.com", "*.a.b.c"].compactMap(NamePattern.init))
let upstream = EndpointKey(family: 2, port: 53, addressHigh: 0, addressLow: 0x7F00_0001)
let fixedQuestion: [UInt8] = [3, 119, 119, 119, 7, 101, 120, 97, 109, 112, 108, 101, 3, 99, 111, 109, 0, 0, 1, 0, 1]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSQuery(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let datagram = UnsafeRawBufferPointer(start: data, count: size)
    if let query = try? DNSQueryParser.parse(datagram) {
        precondition(query.nameLength >= 1 && query.nameLength <= DNSQueryParser.maxNameLength)
        precondition(query.questionEnd <= size)
        let name = UnsafeRawBufferPointer(rebasing: datagram[DNSQuery.nameOffset ..< DNSQuery.nameOffset + query.nameLength])
        _ = allowlist.allows(name)
        _ = DomainNameText.presentation(name)
        let question = UnsafeRawBufferPointer(rebasing: datagram[query.questionRange])
        var answer = [UInt8](repeating: 0, count: 512)
        let length = answer.withUnsafeMutableBytes {
            DNSResponseBuilder.answer(rcode: DNSResponseCode.refused, to: query, in: datagram, into: $0)
        }
        precondition(length == DNSHeader.length + question.count)
        answer.withUnsafeBytes { raw in
            do {
                try UpstreamAnswerCheck.check(
                    UnsafeRawBufferPointer(rebasing: raw[0 ..< length]), from: upstream, expectedSource: upstream,
                    expectedID: query.id, question: question)
            } catch {
                preconditionFailure("own answer rejected: \(error)")
            }
        }
    }
    // The same bytes as an upstream answer to a fixed question, ID taken from the input.
    if size >= 2 {
        let id = UInt16(data[0]) << 8 | UInt16(data[1])
        fixedQuestion.withUnsafeBytes { question in
            _ = try? UpstreamAnswerCheck.check(datagram, from: upstream, expectedSource: upstream, expectedID: id, question: question)
        }
    }
    return 0
}

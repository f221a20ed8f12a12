@testable import DNSProxyCore
import Testing

@Suite struct AnswerTests {
    @Test(arguments: [DNSResponseCode.refused, DNSResponseCode.servFail])
    func localAnswerEchoesIDQuestionAndCase(rcode: UInt8) throws {
        let query = DNSMessages.query(id: 0xABCD, flags: 0x0110, name: DNSMessages.wire("WwW.ExAmPlE.cOm"), qtype: 16,
                                      trailer: DNSMessages.ednsOPT)
        var out = [UInt8](repeating: 0xEE, count: 512)
        let length = try query.withUnsafeBytes { raw in
            let parsed = try DNSQueryParser.parse(raw)
            return out.withUnsafeMutableBytes { DNSResponseBuilder.answer(rcode: rcode, to: parsed, in: raw, into: $0) }
        }
        let answer = Array(out[..<length])
        #expect(length == 12 + 17 + 4)
        #expect(answer[0 ..< 2] == [0xAB, 0xCD])
        // QR, RD and CD echoed, RA set, rcode.
        #expect(answer[2] == 0x81)
        #expect(answer[3] == 0x90 | rcode)
        #expect(answer[4 ..< 12] == [0, 1, 0, 0, 0, 0, 0, 0])
        #expect(Array(answer[12...]) == Array(query[12 ..< 33]))
    }

    @Test func localAnswerNeedsRoom() {
        let question = DNSMessages.wire("a.b") + [0, 1, 0, 1]
        var small = [UInt8](repeating: 0, count: 12 + question.count - 1)
        let length = question.withUnsafeBytes { q in
            small.withUnsafeMutableBytes { DNSResponseBuilder.answer(rcode: 5, id: 1, queryFlags: 0, question: q, into: $0) }
        }
        #expect(length == 0)
    }

    let upstream = EndpointKey(family: 2, port: 53, addressHigh: 0, addressLow: 0x7F00_0001)
    let question = DNSMessages.wire("www.Example.com") + [0, 1, 0, 1]

    func check(_ answer: [UInt8], from source: EndpointKey? = nil, id: UInt16 = 0x4242) -> UpstreamAnswerProblem? {
        do {
            try answer.withUnsafeBytes { a in
                try question.withUnsafeBytes { q in
                    try UpstreamAnswerCheck.check(a, from: source ?? upstream, expectedSource: upstream, expectedID: id, question: q)
                }
            }
            return nil
        } catch let problem as UpstreamAnswerProblem {
            return problem
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func matchingAnswerPasses() {
        #expect(check(DNSMessages.answer(id: 0x4242, question: question)) == nil)
    }

    @Test func answerWithDifferentCaseOfTheSameNamePasses() {
        let upper = DNSMessages.wire("WWW.EXAMPLE.COM") + [0, 1, 0, 1]
        #expect(check(DNSMessages.answer(id: 0x4242, question: upper)) == nil)
    }

    @Test func answerFromAnotherSourceIsDropped() {
        let other = EndpointKey(family: 2, port: 5353, addressHigh: 0, addressLow: 0x7F00_0001)
        #expect(check(DNSMessages.answer(id: 0x4242, question: question), from: other) == .wrongSource)
        let otherHost = EndpointKey(family: 2, port: 53, addressHigh: 0, addressLow: 0x7F00_0002)
        #expect(check(DNSMessages.answer(id: 0x4242, question: question), from: otherHost) == .wrongSource)
    }

    @Test func answerWithAnotherIDIsDropped() {
        #expect(check(DNSMessages.answer(id: 0x4243, question: question)) == .idMismatch)
    }

    @Test func queryInsteadOfAnswerIsDropped() {
        var answer = DNSMessages.answer(id: 0x4242, question: question)
        answer[2] &= 0x7F
        #expect(check(answer) == .notAResponse)
    }

    @Test func answerForAnotherQuestionIsDropped() {
        let otherName = DNSMessages.wire("www.example.org") + [0, 1, 0, 1]
        #expect(check(DNSMessages.answer(id: 0x4242, question: otherName)) == .questionMismatch)
        let otherType = DNSMessages.wire("www.example.com") + [0, 28, 0, 1]
        #expect(check(DNSMessages.answer(id: 0x4242, question: otherType)) == .questionMismatch)
        let otherClass = DNSMessages.wire("www.example.com") + [0, 1, 0, 3]
        #expect(check(DNSMessages.answer(id: 0x4242, question: otherClass)) == .questionMismatch)
    }

    @Test func shortOrQuestionlessAnswersAreDropped() {
        let full = DNSMessages.answer(id: 0x4242, question: question)
        #expect(check(Array(full[..<11])) == .shorterThanHeader)
        #expect(check(Array(full[..<(12 + question.count - 1)])) == .questionMismatch)
        var none = full
        none[5] = 0
        #expect(check(none) == .questionCount)
    }
}

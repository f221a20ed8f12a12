import HelperRuntime
import Testing

@Suite struct JSONBytesTests {
    func text(_ build: (inout [UInt8]) -> Void) -> String {
        var bytes: [UInt8] = []
        build(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func decimalsCoverZeroNegativesAndTheExtremes() {
        #expect(text { JSONBytes.appendDecimal(0, to: &$0) } == "0")
        #expect(text { JSONBytes.appendDecimal(-42, to: &$0) } == "-42")
        #expect(text { JSONBytes.appendDecimal(UInt64.max, to: &$0) } == "18446744073709551615")
        #expect(text { JSONBytes.appendDecimal(Int64.min, to: &$0) } == "-9223372036854775808")
        #expect(text { JSONBytes.appendDecimal(UInt8(255), to: &$0) } == "255")
    }

    @Test func digitsAreZeroPaddedToTheirWidth() {
        #expect(text { JSONBytes.appendDigits(7, width: 2, to: &$0) } == "07")
        #expect(text { JSONBytes.appendDigits(123, width: 6, to: &$0) } == "000123")
        #expect(text { JSONBytes.appendDigits(2026, width: 4, to: &$0) } == "2026")
    }

    @Test func stringsEscapeQuotesBackslashesAndControls() {
        #expect(JSONBytes.quoted("a\"b\\c\nd\r\te\u{01}\u{08}\u{0C}\u{7F}é/") == "\"a\\\"b\\\\c\\nd\\r\\te\\u0001\\b\\f\u{7F}é/\"")
        #expect(JSONBytes.quoted("") == #""""#)
    }
}

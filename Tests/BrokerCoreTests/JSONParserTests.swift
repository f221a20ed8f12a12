@testable import BrokerCore
import Testing

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\u00e9\n\ud83d\ude00"} "#)
        #expect(value == .object([
            "a": .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]),
            "b": .string("xé\n😀"),
        ]))
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\""),
        ("[1,]", "unexpected byte 0x5d"),
        ("01", "trailing bytes after the JSON value"),
        ("1.", "expected a digit after '.'"),
        ("\"\\ud800\"", "unpaired high surrogate"),
        ("\"\\udc00\"", "unpaired low surrogate"),
        ("\"a\u{01}\"", "unescaped control character in a string"),
        ("\"\\x\"", "invalid escape '\\x'"),
        ("{\"a\" 1}", "expected ':' after a key"),
        ("[1 2]", "expected ',' or ']' in an array"),
        ("tru", "invalid literal"),
        ("{} {}", "trailing bytes after the JSON value"),
    ])
    func rejectsMalformedInput(text: String, reason: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(throws: JSONError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        _ = try JSONParser.parse(fine)
    }

    @Test func boundsInputSize() {
        #expect(throws: JSONError.self) { try JSONParser.parse(Array("[1,2,3]".utf8), maxBytes: 4) }
    }

    @Test func serializationSortsKeysKeepsNumbersAndEscapesMinimally() throws {
        let value = try JSONParser.parse(#"{"b": 1.50, "a": {"z": "\/\"\\\u0001\t"}, "B": 12345678901234567890}"#)
        #expect(value.serialized() == #"{"B":12345678901234567890,"a":{"z":"/\"\\\u0001\t"},"b":1.50}"#)
        #expect(try JSONParser.parse(value.serialized()) == value)
    }
}

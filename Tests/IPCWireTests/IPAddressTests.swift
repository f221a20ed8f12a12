import IPCWire
import Testing

/// The one address type the broker's spec and netnsd's policy share.
@Suite struct IPAddressTests {
    @Test func parsesBothFamiliesCanonically() throws {
        #expect(IPAddress(parsing: "192.0.2.1") == .v4(0xC000_0201))
        #expect(try #require(IPAddress(parsing: "2001:DB8:0:0::1")).description == "2001:db8::1")
        #expect(IPAddress(bytes: [10, 0, 0, 1]) == .v4(0x0A00_0001))
        #expect(IPAddress(bytes: [10, 0, 0, 1]).bytes == [10, 0, 0, 1])
    }

    @Test func refusesTextThatCWouldTruncateOrThatIsNoAddress() {
        // inet_pton would stop at the NUL and accept 127.0.0.1.
        #expect(IPAddress(parsing: "127.0.0.1\u{0}.evil") == nil)
        #expect(IPAddress(parsing: "") == nil)
        #expect(IPAddress(parsing: "example.com") == nil)
        #expect(IPAddress(parsing: String(repeating: "1", count: 46)) == nil)
    }
}

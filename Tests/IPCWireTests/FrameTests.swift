import IPCWire
import Testing

/// The frame header and payload encoding, without sockets.
@Suite struct FrameTests {
    func datagram(_ mutate: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var bytes = Frame(ErrorReply(code: "invalid_state", message: "no"), requestID: 42).bytes
        mutate(&bytes)
        return bytes
    }

    func decodeError(_ bytes: [UInt8], fds: Int = 0) -> WireError? {
        do {
            _ = try Frame.decode(bytes[...], received: DescriptorSet())
            return nil
        } catch {
            return error
        }
    }

    @Test func headerIsTwentyBytesLittleEndian() {
        let bytes = datagram()
        #expect(Array(bytes[0..<4]) == [0x31, 0x57, 0x4C, 0x43])
        #expect(Array(bytes[4..<6]) == [1, 0])  // version
        #expect(Array(bytes[6..<8]) == [1, 0])  // errorReply
        #expect(Array(bytes[12..<16]) == [42, 0, 0, 0])  // request id
        #expect(Int(bytes[16]) == bytes.count - FrameHeader.size)
    }

    @Test func messageRoundTrips() throws {
        let message = ErrorReply(code: "unauthorized", message: "peer uid 1000 is not allowed ✓")
        let frame = try Frame.decode(Frame(message, requestID: 9, flags: .response).bytes[...], received: DescriptorSet())
        #expect(frame.header.requestID == 9)
        #expect(frame.header.flags == .response)
        let received = try frame.decode(as: ErrorReply.self)
        #expect(received.message == message)
    }

    @Test func rejectsShortFrame() {
        #expect(decodeError(Array(datagram().prefix(19))) == .frameTooShort(length: 19))
        #expect(decodeError([]) == .frameTooShort(length: 0))
    }

    @Test func rejectsBadMagic() {
        #expect(decodeError(datagram { $0[0] = 0 }) == .badMagic(0x434C_5700))
    }

    @Test func rejectsOtherVersions() {
        #expect(decodeError(datagram { $0[4] = 2 }) == .unsupportedVersion(2))
        #expect(decodeError(datagram { $0[4] = 0 }) == .unsupportedVersion(0))
    }

    @Test func rejectsUnknownFlags() {
        #expect(decodeError(datagram { $0[8] = 0x02 }) == .unknownFlags(0x02))
    }

    @Test func rejectsPayloadLengthMismatch() {
        let bytes = datagram()
        #expect(decodeError(bytes + [0]) == .payloadLengthMismatch(declared: UInt32(bytes.count - 20), actual: bytes.count - 19))
        #expect(decodeError(Array(bytes.dropLast())) == .payloadLengthMismatch(declared: UInt32(bytes.count - 20), actual: bytes.count - 21))
    }

    @Test func rejectsDescriptorCountAboveLimit() {
        #expect(decodeError(datagram { $0[10] = 17 }) == .tooManyDescriptors(declared: 17, limit: 16))
    }

    @Test func rejectsDeclaredDescriptorsThatDidNotArrive() {
        #expect(decodeError(datagram { $0[10] = 1 }) == .descriptorCountMismatch(declared: 1, received: 0))
    }

    @Test func rejectsOversizeFrame() {
        let bytes = [UInt8](repeating: 0, count: FrameHeader.maxFrameSize + 1)
        #expect(decodeError(bytes) == .frameTooLarge(limit: FrameHeader.maxFrameSize))
    }

    @Test func rejectsUnknownMessageType() throws {
        let bytes = datagram { $0[6] = 0xEE }
        #expect(throws: WireError.unknownMessageType(0xEE)) { _ = try Frame.decode(bytes[...], received: DescriptorSet()).decodeAny() }
        #expect(throws: WireError.unknownMessageType(0xEE)) {
            _ = try Frame.decode(bytes[...], received: DescriptorSet()).decode(as: ErrorReply.self)
        }
    }

    @Test func rejectsWrongMessageType() throws {
        #expect(throws: WireError.unexpectedMessageType(expected: 2, received: 1)) {
            _ = try Frame.decode(datagram()[...], received: DescriptorSet()).decode(as: DescriptorBundle.self)
        }
    }

    @Test func rejectsTrailingBytesInPayload() throws {
        var payload = bundlePayload([])
        payload.append(0xAA)
        #expect(throws: WireError.trailingBytes(count: 1)) { _ = try rawFrame(fdCount: 0, payload: payload).decodeAny() }
    }

    @Test func rejectsTruncatedPayload() throws {
        let payload = Array(bundlePayload(["dns-udp"]).dropLast(2))
        #expect(throws: WireError.truncatedPayload(field: "names[0]")) { _ = try rawFrame(fdCount: 0, payload: payload).decodeAny() }
    }

    @Test func rejectsInvalidStrings() throws {
        var nul = WireWriter()
        nul.write(UInt32(1))
        nul.write(bytes: [0x61, 0x00])
        #expect(throws: WireError.invalidField(field: "names[0]", reason: "contains a NUL byte")) {
            _ = try rawFrame(fdCount: 0, payload: nul.bytes).decodeAny()
        }
        var utf8 = WireWriter()
        utf8.write(UInt32(1))
        utf8.write(bytes: [0xC3, 0x28])
        #expect(throws: WireError.invalidField(field: "names[0]", reason: "not valid UTF-8")) {
            _ = try rawFrame(fdCount: 0, payload: utf8.bytes).decodeAny()
        }
        var colon = WireWriter()
        colon.write(["dns:udp"])
        #expect(throws: WireError.invalidField(field: "names[0]", reason: DescriptorName.rule)) {
            _ = try rawFrame(fdCount: 0, payload: colon.bytes).decodeAny()
        }
    }

    @Test func rejectsArrayCountsBeyondLimitBeforeAllocating() throws {
        var writer = WireWriter()
        writer.write(UInt32.max)
        #expect(throws: WireError.invalidField(field: "names", reason: "\(UInt32.max) items exceed limit 16")) {
            _ = try rawFrame(fdCount: 0, payload: writer.bytes).decodeAny()
        }
    }

    @Test func rejectsNonBooleanBytes() throws {
        var reader = WireReader([2])
        #expect(throws: WireError.invalidField(field: "flag", reason: "boolean byte 2 is neither 0 nor 1")) { _ = try reader.readBool("flag") }
    }

    @Test func messageDeclaresItsDescriptorCount() throws {
        // A bundle naming two descriptors in a frame that declares none is refused
        // even though the frame itself is consistent.
        #expect(throws: WireError.descriptorCountMismatch(declared: 2, received: 0)) {
            _ = try rawFrame(fdCount: 0, payload: bundlePayload(["a", "b"])).decodeAny()
        }
    }
}

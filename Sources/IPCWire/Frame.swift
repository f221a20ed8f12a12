/// One IPCWire datagram: header, payload and the descriptors that arrived with it.
public struct Frame: ~Copyable {
    public let header: FrameHeader
    public let payload: [UInt8]
    public var descriptors: DescriptorSet

    /// A frame carrying `message`. The descriptor count must be what the message
    /// declares: sending a frame the receiver must refuse is a programming error.
    public init<M: WireMessage>(
        _ message: M, requestID: UInt32, flags: FrameHeader.Flags = [], descriptors: consuming DescriptorSet = DescriptorSet()
    ) {
        var writer = WireWriter()
        message.encode(to: &writer)
        precondition(writer.bytes.count <= FrameHeader.maxPayloadSize, "\(M.self) payload exceeds the frame limit")
        precondition(descriptors.count == message.descriptorCount, "\(M.self) needs \(message.descriptorCount) descriptors")
        self.header = FrameHeader(
            messageType: M.messageType.rawValue, flags: flags, descriptorCount: descriptors.count,
            requestID: requestID, payloadLength: writer.bytes.count)
        self.payload = writer.bytes
        self.descriptors = descriptors
    }

    /// A frame from raw parts, unchecked (tests build malformed frames with this).
    public init(header: FrameHeader, payload: [UInt8], descriptors: consuming DescriptorSet) {
        self.header = header
        self.payload = payload
        self.descriptors = descriptors
    }

    /// Header followed by payload, as sent.
    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(FrameHeader.size + payload.count)
        header.encode(into: &bytes)
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// Validates a received datagram against the descriptors that came with it. On
    /// any error `received` is closed (it is consumed either way).
    public static func decode(_ datagram: ArraySlice<UInt8>, received: consuming DescriptorSet) throws(WireError) -> Frame {
        let header = try FrameHeader.decode(datagram)
        guard Int(header.descriptorCount) == received.count else {
            throw .descriptorCountMismatch(declared: Int(header.descriptorCount), received: received.count)
        }
        let payload = Array(datagram.dropFirst(FrameHeader.size))
        return Frame(header: header, payload: payload, descriptors: received)
    }

    /// Decodes the payload as `M`, which must be the frame's type; the descriptors
    /// move into the result.
    public consuming func decode<M: WireMessage>(as type: M.Type) throws(WireError) -> Received<M> {
        guard header.messageType == M.messageType.rawValue else {
            if WireMessageRegistry.messageType(for: header.messageType) == nil {
                throw .unknownMessageType(header.messageType)
            }
            throw .unexpectedMessageType(expected: M.messageType.rawValue, received: header.messageType)
        }
        let message = try Self.decodePayload(payload, as: M.self)
        guard message.descriptorCount == descriptors.count else {
            throw .descriptorCountMismatch(declared: message.descriptorCount, received: descriptors.count)
        }
        return Received(header: header, message: message, descriptors: descriptors)
    }

    /// Decodes whatever known message the frame carries (for dispatchers and fuzzing).
    public borrowing func decodeAny() throws(WireError) -> any WireMessage {
        guard let type = WireMessageRegistry.messageType(for: header.messageType) else {
            throw .unknownMessageType(header.messageType)
        }
        let message = try Self.decodePayload(payload, as: type)
        guard message.descriptorCount == descriptors.count else {
            throw .descriptorCountMismatch(declared: message.descriptorCount, received: descriptors.count)
        }
        return message
    }

    private static func decodePayload<M: WireMessage>(_ payload: [UInt8], as type: M.Type) throws(WireError) -> M {
        var reader = WireReader(payload)
        let message = try M(from: &reader)
        try reader.finish()
        return message
    }
}

/// A decoded message with its header and descriptors.
public struct Received<M: WireMessage>: ~Copyable {
    public let header: FrameHeader
    public let message: M
    public var descriptors: DescriptorSet
}

/// A refusal or failure in reply to a request: a stable machine-readable code
/// (e.g. `unauthorized`, `invalid_state`, `invalid_request`) and a sentence for people.
public struct ErrorReply: WireMessage {
    public static let messageType = MessageType.errorReply
    public static let maxCodeLength = 64
    public static let maxMessageLength = 4096

    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(code)
        writer.write(message)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        code = try reader.readString("code", limit: Self.maxCodeLength)
        message = try reader.readString("message", limit: Self.maxMessageLength)
        guard !code.isEmpty else { throw .invalidField(field: "code", reason: "empty") }
    }
}

/// Named descriptors handed from one process to another: the names travel in the
/// payload, the descriptors in the same datagram, in the same order.
public struct DescriptorBundle: WireMessage {
    public static let messageType = MessageType.descriptorBundle

    public var names: [String]

    public init(names: [String]) { self.names = names }

    public var descriptorCount: Int { names.count }

    public func encode(to writer: inout WireWriter) { writer.write(names) }

    public init(from reader: inout WireReader) throws(WireError) {
        names = try reader.readStrings("names", maxCount: FrameHeader.maxDescriptors)
        for (index, name) in names.enumerated() {
            guard DescriptorName.isValid(name) else {
                throw .invalidField(field: "names[\(index)]", reason: DescriptorName.rule)
            }
        }
    }
}

/// Names of passed descriptors follow the systemd `LISTEN_FDNAMES` rule so one name
/// can travel over IPCWire and through socket activation alike.
public enum DescriptorName {
    public static let rule = "must be 1-255 printable ASCII characters without ':'"

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...255).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ":") }
    }
}

/// Everything that can be wrong with a frame or its payload. Decoding never
/// guesses: each of these rejects the whole frame, and the frame's descriptors are
/// closed by the time the error reaches the caller.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case frameTooShort(length: Int)
    case frameTooLarge(limit: Int)
    case badMagic(UInt32)
    case unsupportedVersion(UInt16)
    case unknownFlags(UInt16)
    case payloadLengthMismatch(declared: UInt32, actual: Int)
    case tooManyDescriptors(declared: Int, limit: Int)
    case descriptorCountMismatch(declared: Int, received: Int)
    case controlMessageTruncated
    case unexpectedControlMessage
    case unknownMessageType(UInt16)
    case unexpectedMessageType(expected: UInt16, received: UInt16)
    case truncatedPayload(field: String)
    case trailingBytes(count: Int)
    case invalidField(field: String, reason: String)
    case peerClosed
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .frameTooShort(let length): "frame of \(length) bytes is shorter than the \(FrameHeader.size)-byte header"
        case .frameTooLarge(let limit): "frame exceeds the \(limit)-byte limit"
        case .badMagic(let magic): "bad magic 0x\(String(magic, radix: 16)) (expected 0x\(String(FrameHeader.magic, radix: 16)))"
        case .unsupportedVersion(let v): "unsupported protocol version \(v) (this side speaks \(FrameHeader.currentVersion))"
        case .unknownFlags(let flags): "unknown flag bits 0x\(String(flags, radix: 16))"
        case .payloadLengthMismatch(let declared, let actual): "header declares a \(declared)-byte payload but \(actual) bytes follow"
        case .tooManyDescriptors(let declared, let limit): "header declares \(declared) descriptors, limit is \(limit)"
        case .descriptorCountMismatch(let declared, let received): "header declares \(declared) descriptors but \(received) arrived"
        case .controlMessageTruncated: "control data truncated (MSG_CTRUNC): descriptors were lost"
        case .unexpectedControlMessage: "unexpected or malformed control message"
        case .unknownMessageType(let type): "unknown message type \(type)"
        case .unexpectedMessageType(let expected, let received): "expected message type \(expected), got \(received)"
        case .truncatedPayload(let field): "payload ends inside field '\(field)'"
        case .trailingBytes(let count): "\(count) trailing bytes after the message"
        case .invalidField(let field, let reason): "field '\(field)': \(reason)"
        case .peerClosed: "peer closed the connection"
        case .system(let error): error.description
        }
    }
}

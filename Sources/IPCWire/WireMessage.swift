/// Message types. Ranges keep later additions from colliding: 1–255 are common to
/// every peer; 256–511 are `cellos-netnsd` requests and replies. A type outside
/// this enum is refused by every decoder (`WireError.unknownMessageType`).
public enum MessageType: UInt16, Sendable, CaseIterable {
    case errorReply = 1
    case descriptorBundle = 2
}

/// A typed message: how it is encoded into a frame payload, how many descriptors
/// must travel with it, and a strict decoder (trailing bytes are refused by the
/// frame layer after `init(from:)` returns).
public protocol WireMessage: Sendable, Equatable {
    static var messageType: MessageType { get }
    /// How many descriptors a frame carrying this message must have attached.
    var descriptorCount: Int { get }
    func encode(to writer: inout WireWriter)
    init(from reader: inout WireReader) throws(WireError)
}

extension WireMessage {
    public var descriptorCount: Int { 0 }
}

/// The decoder for every known message type, for code that receives whatever comes
/// (a dispatcher, the fuzz target).
public enum WireMessageRegistry {
    public static func messageType(for raw: UInt16) -> (any WireMessage.Type)? {
        guard let type = MessageType(rawValue: raw) else { return nil }
        switch type {
        case .errorReply: return ErrorReply.self
        case .descriptorBundle: return DescriptorBundle.self
        }
    }
}

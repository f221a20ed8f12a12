// Pure Swift (no C targets): compiled into the libFuzzer targets as well.

/// What the first bytes of a TLS connection say about the server name.
public enum ClientHelloResult: Equatable, Sendable {
    /// The bytes so far end inside the ClientHello: read more and parse again.
    case needMore
    /// The ClientHello is complete and names this host (lower-cased).
    case found(String)
    /// The ClientHello is complete and names no host: no `server_name`, or
    /// `encrypted_client_hello` (ECH hides the real name behind an outer one).
    case noServerName(NoServerNameCause)
    case malformed(ClientHelloMalformation)
}

public enum NoServerNameCause: String, Equatable, Sendable {
    case absent = "no_server_name"
    case encryptedClientHello = "encrypted_client_hello"
}

public enum ClientHelloMalformation: String, Error, Equatable, Sendable {
    case notHandshakeRecord = "not_handshake_record"
    case badRecordVersion = "bad_record_version"
    case badRecordLength = "bad_record_length"
    case notClientHello = "not_client_hello"
    case tooLarge = "client_hello_too_large"
    case tooManyRecords = "too_many_records"
    case truncatedBody = "truncated_body"
    case badSessionID = "bad_session_id"
    case badCipherSuites = "bad_cipher_suites"
    case badCompression = "bad_compression"
    case badExtensions = "bad_extensions"
    case duplicateExtension = "duplicate_extension"
    case badServerName = "bad_server_name"
    case trailingBytes = "trailing_bytes"
}

/// The TLS ClientHello's server name (RFC 8446 §4.1.2, RFC 6066 §3), read from
/// the raw bytes the client sent so far: the handshake message may span several
/// records (each at most 16 KiB, RFC 8446 §5.1) and arrive in any number of TCP
/// segments, so the caller appends what it reads and parses again; the parse is
/// stateless and linear in the bytes. Strict: anything that is not a well-formed
/// ClientHello is malformed, and a name is only taken from a single `host_name`
/// entry of a single `server_name` extension.
public enum ClientHelloParser {
    public static let recordHeaderLength = 5
    public static let maxRecordLength = 16_384
    /// Records one ClientHello may span.
    public static let maxRecords = 64
    static let handshakeContentType: UInt8 = 22
    static let clientHelloType: UInt8 = 1
    static let serverNameExtension: UInt16 = 0
    static let encryptedClientHelloExtension: UInt16 = 0xfe0d

    /// `maxHandshakeLength` bounds the ClientHello message (and so the bytes read
    /// before a decision); a longer one is `.tooLarge`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxHandshakeLength: Int = 32_768) -> ClientHelloResult {
        // Reassemble the handshake message from as many records as it spans.
        var message: [UInt8] = []
        var cursor = 0
        var records = 0
        var needed = -1  // total handshake message length once its header is in
        while needed < 0 || message.count < needed {
            guard bytes.count - cursor >= recordHeaderLength else { return .needMore }
            guard bytes[cursor] == handshakeContentType else { return .malformed(.notHandshakeRecord) }
            // Record versions 3.1 ... 3.4 (RFC 8446 §5.1 allows 0x0301 on the first record).
            guard bytes[cursor + 1] == 3, (1...4).contains(bytes[cursor + 2]) else { return .malformed(.badRecordVersion) }
            let length = Int(bytes[cursor + 3]) << 8 | Int(bytes[cursor + 4])
            guard length > 0, length <= maxRecordLength else { return .malformed(.badRecordLength) }
            records += 1
            // Tiny records would otherwise let the raw bytes grow far past the message bound.
            guard records <= maxRecords else { return .malformed(.tooManyRecords) }
            cursor += recordHeaderLength
            let available = min(length, bytes.count - cursor)
            let take = needed < 0 ? available : min(available, needed - message.count)
            message.append(contentsOf: bytes[cursor ..< cursor + take])
            if needed < 0, message.count >= 4 {
                guard message[0] == clientHelloType else { return .malformed(.notClientHello) }
                let bodyLength = Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
                needed = 4 + bodyLength
                guard needed <= maxHandshakeLength else { return .malformed(.tooLarge) }
            }
            // The ClientHello must end where its record ends: nothing else shares it.
            if needed >= 0, message.count >= needed, message.count > needed || take < length { return .malformed(.trailingBytes) }
            if available < length { return .needMore }
            cursor += length
        }
        return message.withUnsafeBytes { parseBody(UnsafeRawBufferPointer(rebasing: $0[4...])) }
    }

    static func parseBody(_ body: UnsafeRawBufferPointer) -> ClientHelloResult {
        var reader = ByteReader(body)
        guard reader.skip(2 + 32) else { return .malformed(.truncatedBody) }  // legacy_version, random
        guard let sessionIDLength = reader.u8(), sessionIDLength <= 32, reader.skip(Int(sessionIDLength)) else {
            return .malformed(.badSessionID)
        }
        guard let suitesLength = reader.u16(), suitesLength >= 2, suitesLength % 2 == 0, reader.skip(Int(suitesLength)) else {
            return .malformed(.badCipherSuites)
        }
        guard let compressionLength = reader.u8(), compressionLength >= 1, reader.skip(Int(compressionLength)) else {
            return .malformed(.badCompression)
        }
        // A ClientHello may end here (no extensions at all, so no server name).
        if reader.remaining == 0 { return .noServerName(.absent) }
        guard let extensionsLength = reader.u16(), Int(extensionsLength) == reader.remaining else {
            return .malformed(.badExtensions)
        }
        var seen = Set<UInt16>()
        var name: String?
        var encrypted = false
        while reader.remaining > 0 {
            guard let type = reader.u16(), let length = reader.u16(), let data = reader.take(Int(length)) else {
                return .malformed(.badExtensions)
            }
            guard seen.insert(type).inserted else { return .malformed(.duplicateExtension) }
            switch type {
            case serverNameExtension:
                guard let host = serverName(data) else { return .malformed(.badServerName) }
                name = host
            case encryptedClientHelloExtension:
                encrypted = true
            default:
                break
            }
        }
        if encrypted { return .noServerName(.encryptedClientHello) }
        guard let name else { return .noServerName(.absent) }
        return .found(name)
    }

    /// ServerNameList with exactly one `host_name` (type 0) entry.
    static func serverName(_ data: UnsafeRawBufferPointer) -> String? {
        var reader = ByteReader(data)
        guard let listLength = reader.u16(), Int(listLength) == reader.remaining,
              reader.u8() == 0, let nameLength = reader.u16(), let name = reader.take(Int(nameLength)),
              reader.remaining == 0 else { return nil }
        guard let host = HostName.validated(name), !HostName.looksNumeric(host) else { return nil }
        return host
    }
}

/// Bounds-checked big-endian reads over a buffer.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func skip(_ count: Int) -> Bool {
        guard count <= remaining else { return false }
        offset += count
        return true
    }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() -> UInt16? {
        guard remaining >= 2 else { return nil }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count <= remaining else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + count])
    }
}

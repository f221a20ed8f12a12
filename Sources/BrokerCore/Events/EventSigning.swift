import HelperRuntime

/// Ed25519 signatures over events (docs/events.md, "Signed form").
///
/// The signed bytes are the RFC 8785 canonical form of the event *without* the two
/// signing attributes and with `time` normalized to UTC with 6 fractional digits,
/// so the form a consumer rebuilds after its SDK re-serialized the event (keys
/// reordered, escapes and numbers respelled, `time`'s zeros trimmed) is the one
/// signed. They travel as CloudEvents extension attributes: `cellossigkeyid` (the
/// key id: first 16 lowercase hex digits of SHA-256 over the raw 32-byte public
/// key) and `cellossignature` (the 64-byte signature, 128 lowercase hex digits).
public enum EventSignature {
    public static let keyIDAttribute = "cellossigkeyid"
    public static let signatureAttribute = "cellossignature"

    struct NotCanonicalizable: Error, CustomStringConvertible {
        var description: String { "the event has a number with no RFC 8785 form (beyond a double's range)" }
    }

    /// The bytes a signature covers; nil when the event has no RFC 8785 form.
    public static func canonicalBytes(of event: [String: JSONValue]) -> [UInt8]? {
        var unsigned = event
        unsigned[keyIDAttribute] = nil
        unsigned[signatureAttribute] = nil
        if let time = unsigned["time"]?.stringValue, let instant = RFC3339.parse(time) {
            unsigned["time"] = .string(RFC3339.format(seconds: instant.seconds, microseconds: instant.microseconds))
        }
        return JSONValue.object(unsigned).canonicalBytes()
    }

    public static func keyID(of publicKey: Ed25519.PublicKey) -> String {
        String(Hex.encode(SHA256.hash(data: publicKey.rawRepresentation)).prefix(16))
    }
}

/// Signs events with one private key.
public struct EventSigner: Sendable {
    let privateKey: Ed25519.PrivateKey
    public let keyID: String

    public init(privateKey: Ed25519.PrivateKey) {
        self.privateKey = privateKey
        keyID = EventSignature.keyID(of: privateKey.publicKey)
    }

    public func sign(_ event: CloudEvent) throws -> CloudEvent {
        var unsigned = event
        unsigned.extensions[EventSignature.keyIDAttribute] = nil
        unsigned.extensions[EventSignature.signatureAttribute] = nil
        guard case .object(let members) = unsigned.json else { preconditionFailure("an event is a JSON object") }
        guard let bytes = EventSignature.canonicalBytes(of: members) else { throw EventSignature.NotCanonicalizable() }
        let signature = try privateKey.signature(for: bytes)
        var signed = unsigned
        signed.extensions[EventSignature.keyIDAttribute] = .string(keyID)
        signed.extensions[EventSignature.signatureAttribute] = .string(Hex.encode(signature))
        return signed
    }
}

/// Checks signed event lines against one public key.
public struct EventVerifier: Sendable {
    let publicKey: Ed25519.PublicKey
    public let keyID: String

    public init(publicKey: Ed25519.PublicKey) {
        self.publicKey = publicKey
        keyID = EventSignature.keyID(of: publicKey)
    }

    /// Why one line does not verify, or nil when it does. The event id is returned
    /// whenever the line parses far enough to have one.
    public func verify(line: [UInt8]) -> (id: String?, failure: String?) {
        let parsed: JSONValue
        do { parsed = try JSONParser.parse(line, maxBytes: HelperEventWrapper.maxLineBytes * 2) } catch {
            return (nil, "not valid JSON (\(error))")
        }
        guard case .object(let members) = parsed else { return (nil, "not a JSON object") }
        let id = members["id"]?.stringValue
        guard let keyIDValue = members[EventSignature.keyIDAttribute], let signatureValue = members[EventSignature.signatureAttribute] else {
            return (id, "unsigned (no \(EventSignature.keyIDAttribute)/\(EventSignature.signatureAttribute))")
        }
        guard let signedKeyID = keyIDValue.stringValue, Self.isLowercaseHex(signedKeyID, count: 16) else {
            return (id, "malformed \(EventSignature.keyIDAttribute)")
        }
        guard signedKeyID == keyID else { return (id, "signed by key \(signedKeyID), not by the given key \(keyID)") }
        guard let signatureText = signatureValue.stringValue, Self.isLowercaseHex(signatureText, count: 128),
            let signature = Hex.decode(signatureText)
        else {
            return (id, "malformed \(EventSignature.signatureAttribute)")
        }
        guard let bytes = EventSignature.canonicalBytes(of: members) else { return (id, "\(EventSignature.NotCanonicalizable())") }
        guard publicKey.isValidSignature(signature, for: bytes) else {
            return (id, "signature does not match the event")
        }
        return (id, nil)
    }

    /// Signature text is exactly one spelling (lowercase), so no byte of it can change unnoticed.
    static func isLowercaseHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

/// The result of checking a whole event file.
public enum EventFileVerification: Equatable, Sendable {
    case verified(events: Int)
    /// The first line that failed (1-based), its event id if it had one, and why.
    case failed(line: Int, id: String?, reason: String)

    public static func check(_ contents: [UInt8], with verifier: EventVerifier) -> EventFileVerification {
        var lineNumber = 0
        var events = 0
        for line in contents.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            let (id, failure) = verifier.verify(line: Array(line))
            if let failure { return .failed(line: lineNumber, id: id, reason: failure) }
            events += 1
        }
        if events == 0 { return .failed(line: 0, id: nil, reason: "no events in the file") }
        return .verified(events: events)
    }

    public var description: String {
        switch self {
        case .verified(let events): "verified \(events) events"
        case .failed(0, _, let reason): reason
        case .failed(let line, let id, let reason): "line \(line)\(id.map { ", event \($0)" } ?? ""): \(reason)"
        }
    }
}

@testable import BrokerCore
import Foundation
import Glibc
import Testing

@Suite struct SigningTests {
    // A fresh key per test (the suite is instantiated for each test).
    let key = Ed25519.PrivateKey()
    let signer: EventSigner
    let verifier: EventVerifier
    let stamper = EventStamper(cellID: "c1", host: "host.test")

    init() {
        signer = EventSigner(privateKey: key)
        verifier = EventVerifier(publicKey: key.publicKey)
    }

    /// An event with strings, numbers, nesting, escapes and non-ASCII.
    func sampleLine() throws -> String {
        let data = try JSONParser.parse(#"{"qname":"allowed.test","decision":"allow","latency_us":312,"ratio":1.50,"nested":{"list":[1,"tab\there",null,true]},"name":"caf\u00e9 \"q\""}"#)
        return try signer.sign(stamper.event(.dnsQuery, from: "cellos-dnsproxy", data: data)).line
    }

    @Test func signAndVerifyRoundTrip() throws {
        let line = try sampleLine()
        let (id, failure) = verifier.verify(line: Array(line.utf8))
        #expect(failure == nil)
        #expect(id != nil)
        let members = try #require(try JSONParser.parse(line).objectValue)
        #expect(members["cellossigkeyid"] == .string(signer.keyID))
        #expect(signer.keyID.count == 16)
        #expect(members["cellossignature"]?.stringValue?.count == 128)
    }

    /// RFC 8032 §7.1 TEST 1: libcrypto's Ed25519 derives the public key and signs as
    /// the standard says (a key file written before the primitive changed still works).
    @Test func rfc8032TestVectorOne() throws {
        let seed = try #require(Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        let privateKey = try Ed25519.PrivateKey(rawRepresentation: seed)
        #expect(Hex.encode(privateKey.publicKey.rawRepresentation) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try privateKey.signature(for: [])
        #expect(Hex.encode(signature) == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
        #expect(privateKey.publicKey.isValidSignature(signature, for: []))
        #expect(!privateKey.publicKey.isValidSignature(signature, for: [0]))
    }

    @Test func keysOfTheWrongLengthAreRefused() {
        #expect(throws: Ed25519.KeyError.wrongLength(31)) { try Ed25519.PrivateKey(rawRepresentation: [UInt8](repeating: 1, count: 31)) }
        #expect(throws: Ed25519.KeyError.wrongLength(33)) { try Ed25519.PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 33)) }
    }

    @Test func keyIDIsTheSHA256PrefixOfTheRawPublicKey() {
        // SHA-256 itself against FIPS 180-2's "abc" vector.
        #expect(Hex.encode(SHA256.hash(data: Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let digest = SHA256.hash(data: key.publicKey.rawRepresentation)
        #expect(signer.keyID == Hex.encode(digest).prefix(16).description)
    }

    /// Changing any single byte of a signed line (XOR 0x01 at every offset) must
    /// make verification fail: names, values, punctuation, key id and signature.
    @Test func flippedByteAnywhereFails() throws {
        let bytes = Array(try sampleLine().utf8)
        var accepted: [Int] = []
        for offset in bytes.indices {
            var tampered = bytes
            tampered[offset] ^= 0x01
            if verifier.verify(line: tampered).failure == nil { accepted.append(offset) }
        }
        #expect(accepted.isEmpty, "tampered lines accepted at offsets \(accepted)")
    }

    @Test func caseChangeInSignatureOrKeyIDFails() throws {
        let line = try sampleLine()
        let members = try #require(try JSONParser.parse(line).objectValue)
        for attribute in ["cellossignature", "cellossigkeyid"] {
            var changed = members
            changed[attribute] = .string(members[attribute]!.stringValue!.uppercased())
            #expect(verifier.verify(line: Array(JSONValue.object(changed).serialized().utf8)).failure != nil)
        }
    }

    @Test func wrongKeyFails() throws {
        let other = EventVerifier(publicKey: Ed25519.PrivateKey().publicKey)
        let failure = other.verify(line: Array(try sampleLine().utf8)).failure
        #expect(failure == "signed by key \(signer.keyID), not by the given key \(other.keyID)")
    }

    @Test func forgedKeyIDWithWrongKeyStillFails() throws {
        // Another key's signature relabelled with the expected key id.
        let forger = EventSigner(privateKey: Ed25519.PrivateKey())
        let forged = try forger.sign(stamper.event(.started, data: .object([:])))
        var members = try #require(forged.json.objectValue)
        members["cellossigkeyid"] = .string(signer.keyID)
        #expect(verifier.verify(line: Array(JSONValue.object(members).serialized().utf8)).failure == "signature does not match the event")
    }

    @Test func reorderedKeysAndWhitespaceStillVerify() throws {
        let members = try #require(try JSONParser.parse(try sampleLine()).objectValue)
        // Reverse key order, add whitespace, spell a character as an escape.
        let reordered = "{ " + members.keys.sorted().reversed().map { key in
            "\n  \(JSONValue.string(key).serialized()) : \(members[key]!.serialized())"
        }.joined(separator: " ,") + " }"
        let respelled = reordered.replacingOccurrences(of: "allowed.test", with: "allowed\\u002etest")
        #expect(respelled != reordered)
        #expect(verifier.verify(line: Array(respelled.utf8)).failure == nil)
    }

    @Test func unsignedEventIsReportedWithLineAndID() throws {
        let signedLine = try sampleLine()
        let unsigned = stamper.event(.destroyed, data: .object([:]))
        let file = [signedLine, signedLine, unsigned.line].joined(separator: "\n") + "\n"
        let result = EventFileVerification.check(Array(file.utf8), with: verifier)
        #expect(result == .failed(line: 3, id: unsigned.id, reason: "unsigned (no cellossigkeyid/cellossignature)"))
        #expect(result.description == "line 3, event \(unsigned.id): unsigned (no cellossigkeyid/cellossignature)")
    }

    @Test func fileVerificationCountsEventsAndRejectsEmptyFiles() throws {
        let lines = try (0..<3).map { _ in try sampleLine() }.joined(separator: "\n") + "\n"
        #expect(EventFileVerification.check(Array(lines.utf8), with: verifier) == .verified(events: 3))
        #expect(EventFileVerification.check([], with: verifier) == .failed(line: 0, id: nil, reason: "no events in the file"))
    }

    @Test func writerSignsEveryEvent() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("signed-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        defer { unlink(path) }
        do {
            let writer = try EventWriter(destination: path, signer: signer)
            for _ in 0..<5 { try writer.write(stamper.event(.nftCounter, data: .object(["rule": .string("r1"), "packets": .integer(3)]))) }
        }
        let contents = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(EventFileVerification.check(contents, with: verifier) == .verified(events: 5))
    }

    @Test func keyFilesRoundTripInTextAndRawForm() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let privatePath = directory.appendingPathComponent("k").path
        let publicPath = privatePath + ".pub"
        let keyID = try KeyFiles.generate(privatePath: privatePath, publicPath: publicPath)
        let privateKey = try KeyFiles.privateKey(contents: try KeyFiles.read(path: privatePath), path: privatePath)
        let publicKey = try KeyFiles.publicKey(contents: try KeyFiles.read(path: publicPath), path: publicPath)
        #expect(privateKey.publicKey.rawRepresentation == publicKey.rawRepresentation)
        #expect(EventSignature.keyID(of: publicKey) == keyID)
        var info = stat()
        stat(privatePath, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        // Never overwrites.
        #expect(throws: KeyFileError.self) { try KeyFiles.generate(privatePath: privatePath, publicPath: publicPath) }
        // Raw 32 bytes are read too.
        let raw = Array(publicKey.rawRepresentation)
        #expect(try KeyFiles.publicKey(contents: raw, path: "raw").rawRepresentation == publicKey.rawRepresentation)
    }

    @Test(arguments: [
        ("ed25519-private:" + String(repeating: "ab", count: 32), "key file p: holds a key of the other kind (ed25519-private:…), expected ed25519-public:…"),
        ("ed25519-public:abcd", "key file p: needs exactly 64 hex digits after ed25519-public:"),
        ("ed25519-public:" + String(repeating: "zz", count: 32), "key file p: needs exactly 64 hex digits after ed25519-public:"),
        ("ssh-ed25519 AAAA", "key file p: does not start with ed25519-public:"),
    ])
    func badPublicKeyFilesAreNamed(contents: String, message: String) {
        do {
            _ = try KeyFiles.publicKey(contents: Array(contents.utf8), path: "p")
            Issue.record("accepted \(contents)")
        } catch {
            #expect(error.description == message)
        }
    }
}

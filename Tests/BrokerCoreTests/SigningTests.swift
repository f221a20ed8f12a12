@testable import BrokerCore
import Foundation
import Glibc
import HelperRuntime
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

    /// What SDKs do to an event (docs/events.md, "Signed form"): `time` re-spelled
    /// (zeros trimmed, an offset), numbers respelled, escapes changed. All verify.
    @Test func sdkReserializationStillVerifies() throws {
        var members = try #require(try JSONParser.parse(try sampleLine()).objectValue)
        let time = try #require(members["time"]?.stringValue)
        var data = try #require(members["data"]?.objectValue)
        data["ratio"] = .number("1.5")
        data["latency_us"] = .number("3.12e2")
        members["data"] = .object(data)
        for respelled in [String(time.dropLast(8)) + "Z", String(time.dropLast(1)) + "000+00:00", String(time.dropLast(4)) + "z"] {
            // dropLast(4) keeps 3 of the 6 digits: only valid when the cut digits are zeros.
            guard RFC3339.parse(respelled).map({ RFC3339.format(seconds: $0.seconds, microseconds: $0.microseconds) }) == time else { continue }
            members["time"] = .string(respelled)
            let line = JSONValue.object(members).serialized().replacingOccurrences(of: "café", with: "caf\\u00e9")
            #expect(verifier.verify(line: Array(line.utf8)).failure == nil, "\(line)")
        }
        // Another instant, or a changed number, does not (the last digit changed,
        // whatever it was).
        let otherDigit = time.dropLast().last == "9" ? "8" : "9"
        members["time"] = .string(String(time.dropLast(2)) + otherDigit + "Z")
        #expect(verifier.verify(line: Array(JSONValue.object(members).serialized().utf8)).failure == "signature does not match the event")
    }

    /// The event with `time` zeros trimmed must be signed like the 6-digit form.
    @Test func aWholeSecondTimeVerifiesWithItsZerosTrimmed() throws {
        let wholeSecond = EventStamper(cellID: "c1", host: "h", clock: { timespec(tv_sec: 1_764_640_923, tv_nsec: 0) })
        let line = try signer.sign(wholeSecond.event(.started, data: .object(["n": .number("1.0")]))).line
        #expect(line.contains(#""time":"2025-12-02T02:02:03.000000Z""#))
        let trimmed = line.replacingOccurrences(of: ".000000Z", with: "Z").replacingOccurrences(of: #""n":1.0"#, with: #""n":1"#)
        #expect(trimmed != line)
        #expect(verifier.verify(line: Array(trimmed.utf8)).failure == nil)
    }

    @Test(arguments: [
        ("1.0", "1"), ("1E3", "1000"), ("1e21", "1e+21"), ("1e20", "100000000000000000000"), ("0.000001", "0.000001"),
        ("1e-7", "1e-7"), ("-0", "0"), ("-0.0", "0"), ("4.50", "4.5"), ("2e-3", "0.002"), ("-1.5e-10", "-1.5e-10"),
        ("9007199254740993", "9007199254740992"), ("123.456e5", "12345600"), ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"), ("333333333.33333329", "333333333.3333333"),
    ])
    func numbersTakeTheirRFC8785Form(text: String, canonical: String) {
        #expect(JCSNumber.format(text) == canonical)
    }

    @Test func aNumberBeyondADoubleCannotBeSigned() throws {
        #expect(JCSNumber.format("1e400") == nil)
        #expect(throws: (any Error).self) { try signer.sign(stamper.event(.started, data: .object(["n": .number("1e400")]))) }
    }

    /// Keys sort by UTF-16 code units (RFC 8785): U+1F600 (D83D DE00) before U+FF61,
    /// where UTF-8 bytes (F0… after EF…) would put it last.
    @Test func keysSortByUTF16CodeUnits() {
        #expect(JSONValue.object(["\u{FF61}": .null, "\u{1F600}": .null]).serialized() == "{\"\u{1F600}\":null,\"\u{FF61}\":null}")
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

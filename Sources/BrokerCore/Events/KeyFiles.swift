#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Ed25519 key files. The text form `cellos-keygen` writes is one line:
///
///     ed25519-private:<64 lowercase hex digits>   (the 32-byte seed)
///     ed25519-public:<64 lowercase hex digits>    (the 32-byte raw public key)
///
/// The prefix keeps a public key from being used where a private one is meant and
/// vice versa. A file of exactly 32 raw bytes is also read (as the kind asked for).
public enum KeyFiles {
    public static let privatePrefix = "ed25519-private:"
    public static let publicPrefix = "ed25519-public:"

    public static func privateKey(contents: [UInt8], path: String) throws(KeyFileError) -> Ed25519.PrivateKey {
        let raw = try keyBytes(contents, prefix: privatePrefix, otherPrefix: publicPrefix, path: path)
        do { return try Ed25519.PrivateKey(rawRepresentation: raw) } catch { throw .invalid(path, "not an Ed25519 private key") }
    }

    public static func publicKey(contents: [UInt8], path: String) throws(KeyFileError) -> Ed25519.PublicKey {
        let raw = try keyBytes(contents, prefix: publicPrefix, otherPrefix: privatePrefix, path: path)
        do { return try Ed25519.PublicKey(rawRepresentation: raw) } catch { throw .invalid(path, "not an Ed25519 public key") }
    }

    public static func text(of key: Ed25519.PrivateKey) -> String { privatePrefix + Hex.encode(key.rawRepresentation) + "\n" }
    public static func text(of key: Ed25519.PublicKey) -> String { publicPrefix + Hex.encode(key.rawRepresentation) + "\n" }

    static func keyBytes(_ contents: [UInt8], prefix: String, otherPrefix: String, path: String) throws(KeyFileError) -> [UInt8] {
        if contents.count == 32 && !contents.starts(with: Array(prefix.utf8)) { return contents }
        guard let text = String(validating: contents, as: UTF8.self) else { throw .invalid(path, "neither 32 raw bytes nor a text key") }
        var line = Substring(text)
        while line.last == "\n" || line.last == "\r" { line.removeLast() }
        if line.hasPrefix(otherPrefix) { throw .invalid(path, "holds a key of the other kind (\(otherPrefix)…), expected \(prefix)…") }
        guard line.hasPrefix(prefix) else { throw .invalid(path, "does not start with \(prefix)") }
        guard let bytes = Hex.decode(line.dropFirst(prefix.count)), bytes.count == 32 else {
            throw .invalid(path, "needs exactly 64 hex digits after \(prefix)")
        }
        return bytes
    }

    public static func read(path: String) throws(KeyFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(SystemCallError("open", context: path)) }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { Glibc.read(fd, raw.baseAddress, raw.count) } }
            if count < 0 { throw .io(SystemCallError("read", context: path)) }
            if count == 0 { break }
            contents.append(contentsOf: chunk[0..<count])
            guard contents.count <= 4096 else { throw .invalid(path, "is larger than a key file can be") }
        }
        return contents
    }

    /// Creates `path` (which must not exist) with `mode` and writes `text`.
    public static func create(path: String, text: String, mode: mode_t) throws(KeyFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(SystemCallError("open(O_CREAT|O_EXCL)", context: path)) }
        defer { close(fd) }
        do { try FileOutput.writeAll(fd: fd, bytes: Array(text.utf8), context: path) } catch { throw .io(error) }
    }

    /// A new key pair written to `privatePath` (mode 0600) and `publicPath` (0644).
    public static func generate(privatePath: String, publicPath: String) throws(KeyFileError) -> String {
        let key = Ed25519.PrivateKey()
        try create(path: privatePath, text: text(of: key), mode: 0o600)
        try create(path: publicPath, text: text(of: key.publicKey), mode: 0o644)
        return EventSignature.keyID(of: key.publicKey)
    }
}

public enum KeyFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String, String)
    case io(SystemCallError)

    public var description: String {
        switch self {
        case .invalid(let path, let reason): "key file \(path): \(reason)"
        case .io(let error): error.description
        }
    }
}

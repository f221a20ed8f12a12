#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// One secret's bytes, read by the broker as the invoking user before it drops
/// privileges (`load`). They live in memory this type allocated, outside Swift's
/// copy-on-write storage, and are zeroed when it dies; what the wire and the
/// environment copy out of it is listed in docs/security.md, "Secrets".
public final class SecretValue {
    public let secret: SpecSecret
    private let storage: UnsafeMutableRawBufferPointer

    private init(secret: SpecSecret, storage: UnsafeMutableRawBufferPointer) {
        self.secret = secret
        self.storage = storage
    }

    deinit {
        if let base = storage.baseAddress { explicit_bzero(base, storage.count) }
        storage.deallocate()
    }

    public var count: Int { storage.count }

    /// Every secret of `spec`, or the first that cannot be had, named with its
    /// source and never with any byte of a value. `environment` is the broker's
    /// own (`getenv`); `CREDENTIALS_DIRECTORY` comes from it too.
    public static func load(_ spec: CellSpec, environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) throws(SpecError) -> [SecretValue] {
        try spec.secrets.enumerated().map { index, secret throws(SpecError) in try load(secret, field: "secrets[\(index)]", environment: environment) }
    }

    static func load(_ secret: SpecSecret, field: String, environment: (String) -> String?) throws(SpecError) -> SecretValue {
        let source = JSONValue.string(secret.source.description).excerpt
        func refused(_ problem: String) -> SpecError { SpecError(field: "\(field).from", value: source, problem: "(secret '\(secret.name)') \(problem)") }
        let value: SecretValue
        switch secret.source {
        case .file(let path):
            value = try read(path: path, for: secret, refused: refused)
        case .credential(let name):
            guard let directory = environment("CREDENTIALS_DIRECTORY"), directory.hasPrefix("/") else {
                throw refused("cannot be read: $CREDENTIALS_DIRECTORY is not set (systemd sets it for LoadCredential=)")
            }
            value = try read(path: "\(directory)/\(name)", for: secret, refused: refused)
        case .environment(let variable):
            // getenv's own bytes: no Swift String of the value is made here.
            guard let raw = getenv(variable) else { throw refused("cannot be read: the broker's environment has no \(variable)") }
            let count = strlen(raw)
            guard count <= secret.maxBytes else { throw refused("is \(count) bytes, at most \(secret.maxBytes) allowed (as \(secret.delivery.rawValue))") }
            value = SecretValue(secret: secret, storage: .allocate(byteCount: count, alignment: 1))
            if count > 0 { value.storage.baseAddress!.copyMemory(from: raw, byteCount: count) }
        }
        if secret.delivery == .env {
            // execve takes C strings; the variable must also be text.
            guard !value.storage.contains(0), value.isUTF8 else { throw refused("is not UTF-8 text without NUL bytes, which a variable (as env) needs") }
        }
        return value
    }

    /// A regular file of at most `secret.maxBytes`, read straight into the value's storage.
    static func read(path: String, for secret: SpecSecret, refused: (String) -> SpecError) throws(SpecError) -> SecretValue {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw refused("cannot be read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw refused("is not a regular file") }
        guard info.st_size <= secret.maxBytes else { throw refused("is \(info.st_size) bytes, at most \(secret.maxBytes) allowed (as \(secret.delivery.rawValue))") }
        let value = SecretValue(secret: secret, storage: .allocate(byteCount: Int(info.st_size), alignment: 1))
        var done = 0
        while done < value.count {
            let got = Glibc.read(fd, value.storage.baseAddress! + done, value.count - done)
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw refused("cannot be read: \(got == 0 ? "it shrank while being read" : String(cString: strerror(errno)))") }
            done += got
        }
        return value
    }

    /// Decoded in place: a `String(validating:)` would be one more copy of the value.
    private var isUTF8: Bool {
        var decoder = UTF8()
        var bytes = UnsafeRawBufferPointer(storage).makeIterator()
        while true {
            switch decoder.decode(&bytes) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// `NAME=VALUE` for the workload's environment (as env). A Swift String: its
    /// copies (here, in the wire encoding) cannot be zeroed by the broker.
    func environmentEntry() -> String {
        secret.name + "=" + String(decoding: UnsafeRawBufferPointer(storage).bindMemory(to: UInt8.self), as: UTF8.self)
    }

    /// A sealed memfd holding the value (as file): its bytes cross to netnsd as a
    /// descriptor, never in a frame.
    func sealedMemfd() throws(SystemCallError) -> OwnedFD {
        let fd = cellos_memfd("cellos-secret", storage.baseAddress, storage.count, CELLOS_SECRET_SEALS)
        guard fd >= 0 else { throw SystemCallError("memfd_create", context: "secret '\(secret.name)'") }
        return OwnedFD(adopting: fd)
    }
}

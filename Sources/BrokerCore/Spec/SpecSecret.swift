#if canImport(IPCWire)  // the cell-spec fuzz target compiles this file with SecretName.swift itself
import IPCWire
#endif

/// A secret the workload gets at run time (`secrets[i]` of the spec): where the
/// broker reads it (before it drops privileges) and how the workload receives it.
/// The spec names the source, never the value, so the spec, `cellos-broker spec`
/// and the events stay free of it (docs/security.md, "Secrets").
public struct SpecSecret: Equatable, Sendable {
    public enum Source: Equatable, Sendable, CustomStringConvertible {
        /// An absolute path, read as the invoking user.
        case file(String)
        /// A systemd credential: `$CREDENTIALS_DIRECTORY/<name>` (`LoadCredential=`).
        case credential(String)
        /// A variable of the broker's own environment.
        case environment(String)

        /// The spec form: `file:/PATH`, `credential:NAME`, `env:VAR`.
        public var description: String {
            switch self {
            case .file(let path): "file:\(path)"
            case .credential(let name): "credential:\(name)"
            case .environment(let variable): "env:\(variable)"
            }
        }

        /// The kind alone (`file`, `credential`, `env`), as the started event records it.
        public var kind: String {
            switch self {
            case .file: "file"
            case .credential: "credential"
            case .environment: "env"
            }
        }
    }

    public enum Delivery: String, Equatable, Sendable {
        /// A variable named after the secret in the workload's environment.
        case env
        /// `/run/secrets/<name>` in the workload's private /run, mode 0400, the workload's.
        case file
    }

    public static let maxCount = 16
    /// A value delivered as a file: the wire's memfd bound.
    public static let maxFileBytes = Int(SecretBounds.maxFileBytes)
    /// A value delivered as a variable: `NAME=VALUE` must fit one SpawnWorkload string.
    public static let maxEnvironmentBytes = SecretBounds.environmentEntryBytes - SecretName.maxLength - 1

    public let name: String
    public let source: Source
    public let delivery: Delivery

    public init(name: String, source: Source, delivery: Delivery) {
        self.name = name
        self.source = source
        self.delivery = delivery
    }

    /// Where the workload finds it: the variable's name or the file's path.
    public var target: String { delivery == .env ? name : "\(SecretBounds.directory)/\(name)" }

    public var maxBytes: Int { delivery == .env ? Self.maxEnvironmentBytes : Self.maxFileBytes }

    /// One entry; `path` is `secrets[i]`.
    static func make(name: String, from text: String, delivery: Delivery, path: String) throws(SpecError) -> SpecSecret {
        let quoted = { (text: String) in JSONValue.string(text).excerpt }
        guard SecretName.isValid(name) else { throw SpecError(field: "\(path).name", value: quoted(name), problem: SecretName.rule) }
        if delivery == .env, !SecretName.isVariableName(name) {
            throw SpecError(field: "\(path).name", value: quoted(name), problem: "is not a variable name (as env: a letter or '_' first, then letters, digits and '_')")
        }
        return SpecSecret(name: name, source: try source(text, field: "\(path).from", value: quoted(text)), delivery: delivery)
    }

    static func source(_ text: String, field: String, value: String) throws(SpecError) -> Source {
        let forms = "expected file:/PATH, credential:NAME or env:VAR"
        guard let colon = text.firstIndex(of: ":") else { throw SpecError(field: field, value: value, problem: "is not a secret source (\(forms))") }
        let reference = String(text[text.index(after: colon)...])
        switch text[..<colon] {
        case "file":
            guard reference.hasPrefix("/") else { throw SpecError(field: field, value: value, problem: "is not an absolute path") }
            return .file(reference)
        case "credential":
            // systemd's rule for credential names: a file name in $CREDENTIALS_DIRECTORY.
            guard !reference.isEmpty, reference != ".", reference != "..", !reference.contains("/"), reference.utf8.count <= 255 else {
                throw SpecError(field: field, value: value, problem: "is not a credential name (a file name in $CREDENTIALS_DIRECTORY)")
            }
            return .credential(reference)
        case "env":
            guard !reference.isEmpty, !reference.contains("=") else { throw SpecError(field: field, value: value, problem: "is not a variable name") }
            return .environment(reference)
        default:
            throw SpecError(field: field, value: value, problem: "is not a secret source (\(forms))")
        }
    }

    /// The list as a whole: names unique; an `env` secret does not shadow a spec
    /// `env` variable; at most `SecretBounds.maxFiles` files (one memfd each).
    static func checkList(_ secrets: [SpecSecret], environment: [String: String]) throws(SpecError) {
        var seen: [String] = []
        for (index, secret) in secrets.enumerated() {
            let value = JSONValue.string(secret.name).excerpt
            guard !seen.contains(secret.name) else { throw SpecError(field: "secrets[\(index)].name", value: value, problem: "is the name of an earlier secret") }
            if secret.delivery == .env, environment[secret.name] != nil {
                throw SpecError(field: "secrets[\(index)].name", value: value, problem: "is also a variable of env (the secret would replace it)")
            }
            seen.append(secret.name)
        }
        let files = secrets.filter { $0.delivery == .file }.count
        guard files <= SecretBounds.maxFiles else {
            throw SpecError(field: "secrets", value: nil, problem: "has \(files) secrets as files, at most \(SecretBounds.maxFiles) allowed")
        }
    }
}

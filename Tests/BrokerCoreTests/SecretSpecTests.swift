#if canImport(Glibc)
import Glibc
#endif
@testable import BrokerCore
import Foundation
import IPCWire
import Testing

/// The spec's `secrets`: decoded strictly (errors name `secrets[i].…`), written
/// back by `spec` as sources only, and loaded by the broker with refusals that
/// name the secret and never its value.
@Suite struct SecretSpecTests {
    static func decode(_ secrets: String, env: String = "") throws(SpecError) -> CellSpec {
        try CellSpecDecoder.decode(Array(#"{"version": 1, "id": "t1", "argv": ["/bin/true"]\#(env), "secrets": \#(secrets)}"#.utf8))
    }

    @Test func secretsDecodeWithFileAsTheDefault() throws {
        let spec = try Self.decode(#"[{"name": "api", "from": "credential:api"}, {"name": "TOKEN", "from": "env:CI_TOKEN", "as": "env"}, {"name": "tls.key", "from": "file:/etc/tls/key", "as": "file"}]"#)
        #expect(spec.secrets == [
            SpecSecret(name: "api", source: .credential("api"), delivery: .file),
            SpecSecret(name: "TOKEN", source: .environment("CI_TOKEN"), delivery: .env),
            SpecSecret(name: "tls.key", source: .file("/etc/tls/key"), delivery: .file),
        ])
        #expect(spec.secrets.map(\.target) == ["/run/secrets/api", "TOKEN", "/run/secrets/tls.key"])
        #expect(try CellSpecDecoder.decode(Array(spec.json.serialized().utf8)) == spec)
    }

    @Test(arguments: [
        (#"{"name": "a"}"#, "secrets[0].from: is required"),
        (#"{"name": "a/b", "from": "env:X"}"#, "secrets[0].name: \"a/b\" \(SecretName.rule)"),
        (#"{"name": ".env", "from": "env:X"}"#, "secrets[0].name: \".env\" \(SecretName.rule)"),
        (#"{"name": "tls.key", "from": "env:X", "as": "env"}"#, "secrets[0].name: \"tls.key\" is not a variable name (as env: a letter or '_' first, then letters, digits and '_')"),
        (#"{"name": "a", "from": "/etc/x"}"#, "secrets[0].from: \"/etc/x\" is not a secret source (expected file:/PATH, credential:NAME or env:VAR)"),
        (#"{"name": "a", "from": "file:etc/x"}"#, "secrets[0].from: \"file:etc/x\" is not an absolute path"),
        (#"{"name": "a", "from": "credential:../x"}"#, "secrets[0].from: \"credential:../x\" is not a credential name (a file name in $CREDENTIALS_DIRECTORY)"),
        (#"{"name": "a", "from": "env:"}"#, "secrets[0].from: \"env:\" is not a variable name"),
        (#"{"name": "a", "from": "env:X", "as": "stdin"}"#, "secrets[0].as: \"stdin\" is not a delivery (\"env\" or \"file\")"),
        (#"{"name": "a", "from": "env:X", "value": "hunter2"}"#, "secrets[0].value: unknown field (known: name, from, as)"),
        (#"{"name": "a", "from": "env:X"}, {"name": "a", "from": "env:Y"}"#, "secrets[1].name: \"a\" is the name of an earlier secret"),
    ])
    func badSecretsAreRefusedNamingTheField(entries: String, message: String) {
        #expect(throws: SpecError.self) { _ = try Self.decode("[\(entries)]") }
        do { _ = try Self.decode("[\(entries)]") } catch { #expect(error.description == message) }
    }

    @Test func listBounds() {
        let nine = (0..<9).map { #"{"name": "f\#($0)", "from": "env:X"}"# }.joined(separator: ", ")
        do { _ = try Self.decode("[\(nine)]"); Issue.record("nine file secrets accepted") } catch {
            #expect(error.description == "secrets: has 9 secrets as files, at most 8 allowed")
        }
        let seventeen = (0..<17).map { #"{"name": "E\#($0)", "from": "env:X", "as": "env"}"# }.joined(separator: ", ")
        do { _ = try Self.decode("[\(seventeen)]"); Issue.record("17 secrets accepted") } catch {
            #expect(error.description == "secrets: has 17 entries, at most 16 allowed")
        }
        do { _ = try Self.decode(#"[{"name": "PATH", "from": "env:X", "as": "env"}]"#, env: #", "env": {"PATH": "/bin"}"#); Issue.record("shadowing accepted") } catch {
            #expect(error.description == "secrets[0].name: \"PATH\" is also a variable of env (the secret would replace it)")
        }
    }

    /// Every source kind loads; every refusal names the secret and its source, never a value.
    @Test func loadingReadsEachSourceAndRefusalsNameTheSecret() throws {
        let directory = "/tmp/cs-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/creds", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let value = "v-\(UUID().uuidString)"
        try value.write(toFile: "\(directory)/file", atomically: true, encoding: .utf8)
        try value.write(toFile: "\(directory)/creds/api", atomically: true, encoding: .utf8)
        setenv("CELLOS_SECRET_SPEC_TEST", value, 1)
        defer { unsetenv("CELLOS_SECRET_SPEC_TEST") }
        let environment: (String) -> String? = { $0 == "CREDENTIALS_DIRECTORY" ? "\(directory)/creds" : nil }
        var spec = CellSpec.defaults(id: "t", argv: ["/bin/true"])
        spec.secrets = [
            SpecSecret(name: "F", source: .file("\(directory)/file"), delivery: .env),
            SpecSecret(name: "api", source: .credential("api"), delivery: .file),
            SpecSecret(name: "E", source: .environment("CELLOS_SECRET_SPEC_TEST"), delivery: .env),
        ]
        let loaded = try SecretValue.load(spec, environment: environment)
        #expect(loaded.map(\.count) == [value.utf8.count, value.utf8.count, value.utf8.count])
        let request = try CellRequests.spawnWorkload(spec, secrets: loaded)
        #expect(request.environment.contains("F=\(value)") && request.environment.contains("E=\(value)"))
        #expect(request.secretFiles == [try SecretFile(name: "api", size: UInt32(value.utf8.count))])

        let refusals: [(SpecSecret, (String) -> String?, String)] = [
            (SpecSecret(name: "gone", source: .file("\(directory)/missing"), delivery: .file), environment,
             "secrets[0].from: \"file:\(directory)/missing\" (secret 'gone') cannot be read: No such file or directory"),
            (SpecSecret(name: "api", source: .credential("api"), delivery: .file), { _ in nil },
             "secrets[0].from: \"credential:api\" (secret 'api') cannot be read: $CREDENTIALS_DIRECTORY is not set (systemd sets it for LoadCredential=)"),
            (SpecSecret(name: "nope", source: .credential("nope"), delivery: .file), environment,
             "secrets[0].from: \"credential:nope\" (secret 'nope') cannot be read: No such file or directory"),
            (SpecSecret(name: "E", source: .environment("CELLOS_SECRET_UNSET_X"), delivery: .env), environment,
             "secrets[0].from: \"env:CELLOS_SECRET_UNSET_X\" (secret 'E') cannot be read: the broker's environment has no CELLOS_SECRET_UNSET_X"),
            (SpecSecret(name: "dir", source: .file(directory), delivery: .file), environment,
             "secrets[0].from: \"file:\(directory)\" (secret 'dir') is not a regular file"),
        ]
        for (secret, environment, message) in refusals {
            spec.secrets = [secret]
            do { _ = try SecretValue.load(spec, environment: environment); Issue.record("\(secret) loaded") } catch {
                #expect(error.description == message)
                #expect(!error.description.contains(value))
            }
        }
        // Too large for a variable, binary for a variable.
        try Data(repeating: 0x41, count: SpecSecret.maxEnvironmentBytes + 1).write(to: URL(fileURLWithPath: "\(directory)/big"))
        try Data([0x41, 0, 0x42]).write(to: URL(fileURLWithPath: "\(directory)/nul"))
        spec.secrets = [SpecSecret(name: "B", source: .file("\(directory)/big"), delivery: .env)]
        #expect(throws: SpecError.self) { _ = try SecretValue.load(spec, environment: environment) }
        spec.secrets = [SpecSecret(name: "B", source: .file("\(directory)/nul"), delivery: .env)]
        do { _ = try SecretValue.load(spec, environment: environment); Issue.record("NUL accepted as env") } catch {
            #expect(error.description.hasSuffix("is not UTF-8 text without NUL bytes, which a variable (as env) needs"))
        }
        // The same bytes are fine as a file.
        spec.secrets = [SpecSecret(name: "B", source: .file("\(directory)/nul"), delivery: .file)]
        #expect(try SecretValue.load(spec, environment: environment).map(\.count) == [3])
    }

    /// The started event and `spec` name secrets and their delivery, never a source's value.
    @Test func startedEventListsNamesAndDelivery() throws {
        let spec = try Self.decode(#"[{"name": "api", "from": "credential:api"}, {"name": "TOKEN", "from": "env:CI_TOKEN", "as": "env"}]"#)
        let event = CellEvents(stamper: EventStamper(cellID: "t1")).started(spec)
        guard case .object(let data) = event.data else {
            Issue.record("no data")
            return
        }
        #expect(data["secrets"] == .array([
            .object(["name": .string("api"), "from": .string("credential"), "as": .string("file"), "target": .string("/run/secrets/api")]),
            .object(["name": .string("TOKEN"), "from": .string("env"), "as": .string("env"), "target": .string("TOKEN")]),
        ]))
    }
}

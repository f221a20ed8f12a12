import FoundationEssentials

/// The `--policy FILE` JSON document: the same settings as the flags.
///
/// ```json
/// {"allow": ["example.com", "*.example.com"], "allow_qtypes": ["A", "AAAA"],
///  "upstream": "127.0.0.1:53", "upstream_timeout_ms": 2000, "cell_id": "cell-1"}
/// ```
/// Every field is optional; an unknown field is an error (a typo must not silently
/// widen or narrow the policy).
struct PolicyFile: Decodable, Equatable {
    var allow: [String] = []
    var allowQueryTypes: [String]?
    var upstream: String?
    var upstreamTimeoutMilliseconds: Int?
    var cellID: String?

    enum Field: String, CodingKey, CaseIterable {
        case allow
        case allowQueryTypes = "allow_qtypes"
        case upstream
        case upstreamTimeoutMilliseconds = "upstream_timeout_ms"
        case cellID = "cell_id"
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let names = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = names.first(where: { Field(rawValue: $0) == nil }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: [AnyKey(stringValue: unknown)],
                debugDescription: "unknown field '\(unknown)' (known: \(Field.allCases.map(\.rawValue).joined(separator: ", ")))"))
        }
        let container = try decoder.container(keyedBy: Field.self)
        allow = try container.decodeIfPresent([String].self, forKey: .allow) ?? []
        allowQueryTypes = try container.decodeIfPresent([String].self, forKey: .allowQueryTypes)
        upstream = try container.decodeIfPresent(String.self, forKey: .upstream)
        upstreamTimeoutMilliseconds = try container.decodeIfPresent(Int.self, forKey: .upstreamTimeoutMilliseconds)
        cellID = try container.decodeIfPresent(String.self, forKey: .cellID)
    }

    static func decode(_ bytes: [UInt8], path: String) throws(ConfigurationError) -> PolicyFile {
        do {
            return try JSONDecoder().decode(PolicyFile.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .policyFile(path: path, reason: Self.explain(error))
        } catch {
            throw .policyFile(path: path, reason: "\(error)")
        }
    }

    static func load(path: String) throws(ConfigurationError) -> PolicyFile {
        guard let text = readSmallFile(path) else { throw .policyFile(path: path, reason: "cannot be read (or exceeds 1 MiB)") }
        return try decode(Array(text.utf8), path: path)
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "" : "field \(context.codingPath.map(\.stringValue).joined(separator: ".")): "
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return path(context) + context.debugDescription
        case .keyNotFound(let key, let context):
            return path(context) + "missing field \(key.stringValue)"
        @unknown default:
            return "\(error)"
        }
    }
}

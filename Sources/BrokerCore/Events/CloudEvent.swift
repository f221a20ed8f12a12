/// One CloudEvents 1.0 event in structured JSON mode. `data` is any JSON object
/// (helpers' lines are carried as they came); extension attributes (signing)
/// live in `extensions`, named per the spec: lowercase letters and digits only.
public struct CloudEvent: Equatable, Sendable {
    public static let specVersion = "1.0"

    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var time: String
    public var data: JSONValue
    public var extensions: [String: JSONValue] = [:]

    public init(id: String, source: String, type: String, subject: String?, time: String, data: JSONValue) {
        self.id = id
        self.source = source
        self.type = type
        self.subject = subject
        self.time = time
        self.data = data
    }

    /// The structured-mode JSON object.
    public var json: JSONValue {
        var members = extensions
        members["specversion"] = .string(Self.specVersion)
        members["id"] = .string(id)
        members["source"] = .string(source)
        members["type"] = .string(type)
        if let subject { members["subject"] = .string(subject) }
        members["time"] = .string(time)
        members["datacontenttype"] = .string("application/json")
        members["data"] = data
        return .object(members)
    }

    /// The line written to the event stream: canonical JSON (see `JSONValue.serialized`).
    public var line: String { json.serialized() }

    /// `cell:<id>`, the subject of every event about a cell.
    public static func subject(cellID: String) -> String { "cell:\(cellID)" }
}

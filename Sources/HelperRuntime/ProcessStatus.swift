/// What `/proc/<pid>/status` says about a process's privilege: the five capability
/// sets, `NoNewPrivs`, the seccomp mode and the real/effective/saved/fs ids.
/// The parser is strict about the fields it reads (each once, well formed) and
/// ignores the rest of the file. One parser for every reader: the broker's audit
/// and privilege drop, the unprivileged helpers' refusal to run with capabilities,
/// netnsd's tests. Pure Swift (fuzzed alone: fuzz/targets/proc-status).
public struct ProcessStatus: Equatable, Sendable {
    public var name: String
    public var inheritable: UInt64
    public var permitted: UInt64
    public var effective: UInt64
    public var bounding: UInt64
    public var ambient: UInt64
    public var noNewPrivileges: Bool
    /// 0 disabled, 1 strict, 2 filter; nil when the kernel has no seccomp.
    public var seccompMode: Int?
    /// Real, effective, saved set, filesystem.
    public var uids: [UInt32]
    public var gids: [UInt32]

    public static let maxBytes = 64 * 1024

    public init(
        name: String, inheritable: UInt64, permitted: UInt64, effective: UInt64, bounding: UInt64, ambient: UInt64,
        noNewPrivileges: Bool, seccompMode: Int?, uids: [UInt32], gids: [UInt32]
    ) {
        self.name = name
        self.inheritable = inheritable
        self.permitted = permitted
        self.effective = effective
        self.bounding = bounding
        self.ambient = ambient
        self.noNewPrivileges = noNewPrivileges
        self.seccompMode = seccompMode
        self.uids = uids
        self.gids = gids
    }

    /// Whether capability `number` is in the effective set.
    public func hasEffective(_ number: Int) -> Bool { number >= 0 && number < 64 && effective & (1 << UInt64(number)) != 0 }

    public static func parse(_ text: String) throws(ProcessStatusError) -> ProcessStatus {
        guard text.utf8.count <= maxBytes else { throw .malformed(field: "status", reason: "longer than \(maxBytes) bytes") }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            guard wanted.contains(key) else { continue }
            guard fields[key] == nil else { throw .malformed(field: key, reason: "appears twice") }
            fields[key] = line[line.index(after: colon)...].trimmingTabsAndSpaces()
        }
        func required(_ key: String) throws(ProcessStatusError) -> String {
            guard let value = fields[key] else { throw .missing(key) }
            return value
        }
        func mask(_ key: String) throws(ProcessStatusError) -> UInt64 {
            let text = try required(key)
            guard (1...16).contains(text.utf8.count), let value = UInt64(text, radix: 16), text.utf8.allSatisfy(isHexDigit) else {
                throw .malformed(field: key, reason: "'\(text)' is not a 64-bit hex mask")
            }
            return value
        }
        func ids(_ key: String) throws(ProcessStatusError) -> [UInt32] {
            let parts = try required(key).split(whereSeparator: { $0 == "\t" || $0 == " " })
            let values = parts.compactMap { UInt32($0) }
            guard parts.count == 4, values.count == 4 else { throw .malformed(field: key, reason: "expected 4 ids") }
            return values
        }
        func flag(_ key: String, allowed: ClosedRange<Int>) throws(ProcessStatusError) -> Int? {
            guard let text = fields[key] else { return nil }
            guard text.utf8.count == 1, let value = Int(text), allowed.contains(value) else {
                throw .malformed(field: key, reason: "'\(text)' is not in \(allowed.lowerBound)-\(allowed.upperBound)")
            }
            return value
        }
        guard let noNewPrivileges = try flag("NoNewPrivs", allowed: 0...1) else { throw .missing("NoNewPrivs") }
        return ProcessStatus(
            name: fields["Name"] ?? "",
            inheritable: try mask("CapInh"), permitted: try mask("CapPrm"), effective: try mask("CapEff"),
            bounding: try mask("CapBnd"), ambient: try mask("CapAmb"),
            noNewPrivileges: noNewPrivileges == 1, seccompMode: try flag("Seccomp", allowed: 0...2),
            uids: try ids("Uid"), gids: try ids("Gid"))
    }

    static let wanted: Set<String> = ["Name", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Uid", "Gid"]

    public var seccompDescription: String {
        switch seccompMode {
        case 0: "disabled"
        case 1: "strict"
        case 2: "filter"
        default: "unsupported"
        }
    }
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
}

extension Substring {
    fileprivate func trimmingTabsAndSpaces() -> String {
        String(drop { $0 == "\t" || $0 == " " }.reversed().drop { $0 == "\t" || $0 == " " }.reversed())
    }
}

public enum ProcessStatusError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(String)
    case malformed(field: String, reason: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let field): "/proc status has no \(field) line"
        case .malformed(let field, let reason): "/proc status field \(field): \(reason)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        }
    }
}

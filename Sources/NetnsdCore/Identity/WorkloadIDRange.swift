#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The ids netnsd allocates workload uid/gid pairs from (`--workload-ids FIRST-LAST`).
///
/// The default, 2147483648–2147549183 (2^31 and the 65535 above it), is a block
/// of 65536 that no account file, nobody (65534) and none of systemd's
/// documented ranges use: DynamicUser 61184–65519, the container range
/// 524288–1879048191 and the "foreign" range 2147352576–2147418111 all lie
/// below it, and it stays clear of (uid_t)-1.
public struct WorkloadIDRange: Sendable, Equatable, CustomStringConvertible {
    public let first: UInt32
    public let last: UInt32

    public static let flag = "--workload-ids"
    public static let `default` = WorkloadIDRange(unchecked: 2_147_483_648, 2_147_549_183)

    /// systemd's documented ranges a range may overlap only with a warning.
    static let systemdRanges: [(name: String, range: ClosedRange<UInt32>)] = [
        ("systemd DynamicUser", 61_184...65_519), ("systemd container", 524_288...1_879_048_191),
        ("systemd foreign", 2_147_352_576...2_147_418_111),
    ]

    private init(unchecked first: UInt32, _ last: UInt32) {
        self.first = first
        self.last = last
    }

    /// Parses `FIRST-LAST` (decimal, FIRST ≤ LAST); refuses 0 (root), 65534
    /// (nobody) and 4294967295 ((uid_t)-1, "no change" to setresuid) inside it.
    public init(parsing text: String) throws(WorkloadIDError) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = UInt32(parts[0]), let last = UInt32(parts[1]) else {
            throw .malformed(value: text, reason: "expected FIRST-LAST, two decimal ids")
        }
        guard first <= last else { throw .malformed(value: text, reason: "FIRST is above LAST") }
        for (id, name) in [(UInt32(0), "root"), (65_534, "nobody"), (UInt32.max, "(uid_t)-1")] where (first...last).contains(id) {
            throw .malformed(value: text, reason: "it contains \(id) (\(name))")
        }
        self.init(unchecked: first, last)
    }

    public var count: Int { Int(last - first) + 1 }
    public func contains(_ id: UInt32) -> Bool { id >= first && id <= last }
    public var description: String { "\(first)-\(last)" }

    /// Refuses a range that holds a uid of `passwd` or a gid of `group` (the
    /// texts of /etc/passwd and /etc/group: `name:x:ID:…`).
    public func checkUnused(passwd: String, group: String) throws(WorkloadIDError) {
        for (file, text) in [("/etc/passwd", passwd), ("/etc/group", group)] {
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count >= 3, let id = UInt32(fields[2]), contains(id) else { continue }
                throw .overlapsAccount(range: description, file: file, name: String(fields[0]), id: id)
            }
        }
    }

    /// `checkUnused` against this machine's /etc/passwd and /etc/group (a missing file holds no account).
    public func checkUnusedOnThisHost() throws(WorkloadIDError) {
        func text(_ path: String) throws(WorkloadIDError) -> String {
            do { return try CgroupLeaf.read(path) } catch where error.errno == ENOENT { return "" } catch {
                throw .unreadable(file: path, error: error)
            }
        }
        try checkUnused(passwd: try text("/etc/passwd"), group: try text("/etc/group"))
    }

    /// Warnings for the systemd ranges this range overlaps.
    public var systemdOverlaps: [String] {
        Self.systemdRanges.filter { $0.range.overlaps(first...last) }.map { "\(Self.flag) \(self) overlaps the \($0.name) range \($0.range.lowerBound)-\($0.range.upperBound)" }
    }
}

public enum WorkloadIDError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(value: String, reason: String)
    case overlapsAccount(range: String, file: String, name: String, id: UInt32)
    case unreadable(file: String, error: SystemCallError)

    public var description: String {
        switch self {
        case .malformed(let value, let reason): "\(WorkloadIDRange.flag) '\(value)': \(reason)"
        case .overlapsAccount(let range, let file, let name, let id):
            "\(WorkloadIDRange.flag) \(range) contains id \(id) of '\(name)' in \(file); choose a range no account uses"
        case .unreadable(let file, let error): "\(WorkloadIDRange.flag): cannot check \(file): \(error)"
        }
    }
}

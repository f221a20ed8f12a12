/// The proxy holds no capabilities: it reads its effective and permitted sets from
/// /proc/self/status (no libcap needed for two hex numbers) and refuses to start
/// when either is non-empty, unless told otherwise.
public enum CapabilityCheck {
    public struct Sets: Equatable, Sendable {
        public let effective: UInt64
        public let permitted: UInt64
        public var isEmpty: Bool { effective == 0 && permitted == 0 }
    }

    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case unreadable(String)
        case holdsCapabilities(Sets)

        public var description: String {
            switch self {
            case .unreadable(let why): "cannot read capabilities from /proc/self/status: \(why)"
            case .holdsCapabilities(let sets):
                "refusing to run with capabilities (CapEff=\(hex(sets.effective)) CapPrm=\(hex(sets.permitted))); "
                    + "start it as an unprivileged user, or pass --allow-capabilities"
            }
        }

        private func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
        }
    }

    /// Parses the CapEff and CapPrm lines of a /proc/PID/status text.
    public static func parse(status text: String) throws(Failure) -> Sets {
        var effective: UInt64?
        var permitted: UInt64?
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = parts[1].trimmingPrefix(while: { $0 == " " || $0 == "\t" })
            switch parts[0] {
            case "CapEff": effective = UInt64(value, radix: 16)
            case "CapPrm": permitted = UInt64(value, radix: 16)
            default: continue
            }
        }
        guard let effective, let permitted else { throw .unreadable("no CapEff/CapPrm lines") }
        return Sets(effective: effective, permitted: permitted)
    }

    public static func current() throws(Failure) -> Sets {
        guard let text = readSmallFile("/proc/self/status") else { throw .unreadable("open/read failed") }
        return try parse(status: text)
    }

    /// Throws unless this process holds no capability (or `allowed`).
    public static func enforce(allowed: Bool) throws(Failure) {
        let sets = try current()
        if !sets.isEmpty && !allowed { throw .holdsCapabilities(sets) }
    }
}

extension Substring {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring {
        var rest = self[...]
        while let first = rest.first, predicate(first) { rest = rest.dropFirst() }
        return rest.trimmingSuffixSpaces()
    }

    fileprivate func trimmingSuffixSpaces() -> Substring {
        var rest = self
        while let last = rest.last, last == " " || last == "\t" { rest = rest.dropLast() }
        return rest
    }
}

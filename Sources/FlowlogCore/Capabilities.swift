#if canImport(Glibc)
import Glibc
#endif

/// The capability sets of a task, as `/proc/<task>/status` shows them
/// (`CapPrm`, `CapEff` hex masks). Read from procfs rather than through libcap:
/// the check needs two numbers and no capability manipulation.
public struct CapabilitySets: Equatable, Sendable {
    public static let netAdmin = 12

    public var permitted: UInt64
    public var effective: UInt64

    public var isEmpty: Bool { permitted == 0 && effective == 0 }

    public func hasEffective(_ capability: Int) -> Bool { effective & (1 << UInt64(capability)) != 0 }

    /// Parses the `CapPrm:` and `CapEff:` lines of a status file; nil if either is
    /// missing or not hexadecimal.
    public static func parse(status text: String) -> CapabilitySets? {
        var permitted: UInt64?
        var effective: UInt64?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = UInt64(parts[1].trimmingPrefix(while: { $0 == " " || $0 == "\t" }), radix: 16)
            switch parts[0] {
            case "CapPrm": permitted = value
            case "CapEff": effective = value
            default: continue
            }
        }
        guard let permitted, let effective else { return nil }
        return CapabilitySets(permitted: permitted, effective: effective)
    }

    /// The calling thread's sets (capabilities are per thread), or the process's
    /// with `path: "/proc/self/status"`.
    public static func current(path: String = "/proc/thread-self/status") -> CapabilitySets? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 16 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return parse(status: String(decoding: bytes, as: UTF8.self))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// `journald[:SOCKET]`: one datagram per event to journald's native socket
/// (`/run/systemd/journal/socket`; another path for tests), fields:
/// `MESSAGE` (`cell <id>: lifecycle.v1.destroyed`, the type's last three parts), `PRIORITY` (3 for failures,
/// unrecognized output and spool overflow, 4 for a cell not destroyed as
/// `completed`, else 6), `SYSLOG_IDENTIFIER=cellos-broker`, `CELLOS_CELL_ID`,
/// `CELLOS_EVENT_TYPE`, `CELLOS_EVENT_ID` and `CELLOS_EVENT` (the signed line).
/// Values go in the protocol's binary form (name, newline, 64-bit little-endian
/// length, bytes), so no newline in any value can forge a field.
public final class JournaldSink: EventSink {
    public static let defaultSocket = "/run/systemd/journal/socket"
    public let label: String
    let path: String
    /// Opened on first use; -1 until then (closed by `owner`).
    private var fd: Int32 = -1
    private var owner: OwnedFD?

    public init(label: String, path: String) {
        self.label = label
        self.path = path
    }

    public func send(_ record: SinkRecord) throws(SinkError) {
        if fd < 0 {
            let raw = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard raw >= 0 else { throw .unavailable(sink: label, reason: "\(SystemCallError("socket"))") }
            owner = OwnedFD(adopting: raw)
            fd = raw
        }
        let datagram = Self.datagram(record)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .invalid(sink: label, problem: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: pathBytes) }
        let fd = self.fd
        let sent = datagram.withUnsafeBytes { bytes in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                    retryingOnInterrupt { sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), target, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
            }
        }
        guard sent == datagram.count else { throw .unavailable(sink: label, reason: "sendto \(path): \(SystemCallError("sendto"))") }
    }

    public func settle(until deadline: Int64) throws(SinkError) -> Int { 0 }
    public func abandon() -> [SinkRecord] { [] }

    static func priority(_ record: SinkRecord) -> Int {
        if record.type.hasSuffix(".failed") || record.type.hasSuffix(".unrecognized_output") || record.type.hasSuffix(".spool_overflow") { return 3 }
        if record.type.hasSuffix(".destroyed"), !record.line.containsSequence(Array(#""reason":"completed""#.utf8)) { return 4 }
        return 6
    }

    static func datagram(_ record: SinkRecord) -> [UInt8] {
        let short = record.type.split(separator: ".").suffix(3).joined(separator: ".")
        let fields: [(String, [UInt8])] = [
            ("MESSAGE", Array("cell \(record.cellID): \(short)".utf8)),
            ("PRIORITY", Array(String(priority(record)).utf8)),
            ("SYSLOG_IDENTIFIER", Array(BrokerRole.executableName.utf8)),
            ("CELLOS_CELL_ID", Array(record.cellID.utf8)),
            ("CELLOS_EVENT_TYPE", Array(record.type.utf8)),
            ("CELLOS_EVENT_ID", Array(record.id.utf8)),
            ("CELLOS_EVENT", record.line),
        ]
        var out: [UInt8] = []
        for (name, value) in fields {
            out += Array(name.utf8) + [0x0A]
            var length = UInt64(value.count).littleEndian
            withUnsafeBytes(of: &length) { out += $0 }
            out += value + [0x0A]
        }
        return out
    }
}

extension Array where Element == UInt8 {
    fileprivate func containsSequence(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}

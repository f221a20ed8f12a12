#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The default upstream: the first `nameserver` line of resolv.conf(5).
public enum ResolvConf {
    public static func firstNameserver(path: String = "/etc/resolv.conf") throws(ConfigurationError) -> SocketAddress {
        guard let text = readSmallFile(path) else { throw .noUpstream(resolvConf: path) }
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            // A link-local scope ("fe80::1%eth0") cannot be expressed here; skip it.
            if let address = SocketAddress.parse(String(fields[1]), defaultPort: 53) { return address }
        }
        throw .noUpstream(resolvConf: path)
    }
}

/// Reads a file of at most `limit` bytes as UTF-8 text (nil if it cannot be read or is larger).
func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 8192)
    while true {
        let count = chunk.withUnsafeMutableBytes { raw in
            retryingOnInterrupt { read(fd, raw.baseAddress, raw.count) }
        }
        if count < 0 { return nil }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0 ..< count])
        if bytes.count > limit { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}

#if canImport(Glibc)
import Glibc
#endif

/// Kernel randomness (`/dev/urandom`), for ids that must not repeat.
public enum RandomBytes {
    public static func bytes(_ count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        precondition(fd >= 0, "cannot open /dev/urandom: errno \(errno)")
        defer { close(fd) }
        var filled = 0
        while filled < count {
            let got = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + filled, count - filled) }
            if got > 0 { filled += got } else if got == 0 || errno != EINTR { fatalError("reading /dev/urandom failed: errno \(errno)") }
        }
        return buffer
    }

    public static func hex(_ count: Int) -> String { Hex.encode(bytes(count)) }
}

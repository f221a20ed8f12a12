import CShim
#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// Unpredictable 16-bit values for upstream query IDs and socket choice, from
/// getrandom(2) in 4 KiB refills (one system call per 2048 queries).
struct RandomIDs {
    private var buffer = [UInt16](repeating: 0, count: 2048)
    private var next = 2048

    mutating func next16() -> UInt16 {
        if next == buffer.count { refill() }
        defer { next += 1 }
        return buffer[next]
    }

    private mutating func refill() {
        buffer.withUnsafeMutableBytes { raw in
            var filled = 0
            while filled < raw.count {
                let count = retryingOnInterrupt { cellos_getrandom(raw.baseAddress! + filled, raw.count - filled) }
                if count > 0 { filled += count } else {
                    // getrandom only fails for a bad buffer; crash rather than predictable IDs.
                    fatalError("getrandom failed: errno \(errno)")
                }
            }
        }
        next = 0
    }
}

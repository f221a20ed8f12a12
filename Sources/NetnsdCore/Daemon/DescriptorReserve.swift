#if canImport(Glibc)
import Glibc
#endif

/// One spare descriptor (/dev/null) held by the accept loop. When accept fails
/// with EMFILE/ENFILE the waiting connection stays queued and accept would fail
/// again at once, a busy loop; giving up the spare lets the loop accept that
/// connection, tell it why it is refused, close it and take the spare back.
struct DescriptorReserve: ~Copyable {
    private var fd: Int32

    init() { fd = Self.openSpare() }

    deinit { if fd >= 0 { close(fd) } }

    /// Releases the spare, runs `body` (which may use the freed slot), retakes
    /// it. False when there was no spare to give (the caller backs off instead).
    mutating func spend(_ body: () -> Void) -> Bool {
        guard fd >= 0 else {
            fd = Self.openSpare()
            return false
        }
        close(fd)
        fd = -1
        body()
        fd = Self.openSpare()
        return true
    }

    private static func openSpare() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }
}

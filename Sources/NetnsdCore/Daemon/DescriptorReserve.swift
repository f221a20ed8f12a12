#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// One spare descriptor (/dev/null) held by the accept loop. When accept fails
/// with EMFILE/ENFILE the waiting connection stays queued and accept would fail
/// again at once, a busy loop; giving up the spare lets the loop accept that
/// connection, tell it why it is refused, close it and take the spare back.
struct DescriptorReserve: ~Copyable {
    private var spare: OwnedFD?

    init() { spare = Self.openSpare() }

    /// Releases the spare, runs `body` (which may use the freed slot), retakes
    /// it. False when there was no spare to give (the caller backs off instead).
    mutating func spend(_ body: () -> Void) -> Bool {
        guard let fd = spare.take() else {
            spare = Self.openSpare()
            return false
        }
        fd.close()
        body()
        spare = Self.openSpare()
        return true
    }

    private static func openSpare() -> OwnedFD? { try? OwnedFD.open("/dev/null", O_RDONLY) }
}

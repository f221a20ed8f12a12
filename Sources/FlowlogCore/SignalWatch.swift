#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// SIGTERM, SIGINT and SIGUSR1 as readable events on a descriptor (signalfd), so
/// the receive loop handles them between datagrams instead of in a handler.
public struct SignalWatch: ~Copyable {
    public let fd: OwnedFD

    /// Blocks the signals in the calling thread: create it first thing, before
    /// any other thread exists, so every thread inherits the mask.
    public init() throws(SystemCallError) {
        fd = OwnedFD(adopting: try systemCall("signalfd") { [SIGTERM, SIGINT, SIGUSR1].withUnsafeBufferPointer { cellos_signalfd($0.baseAddress, $0.count) } })
        // A reader that closed the events pipe must cost events, not the process.
        signal(SIGPIPE, SIG_IGN)
    }

    /// The pending signals, in arrival order.
    public func pending() throws(SystemCallError) -> [Int32] {
        var signals: [Int32] = []
        while true {
            let signal = try systemCall("read(signalfd)") { cellos_read_signal(fd.rawValue) }
            if signal == 0 { return signals }
            signals.append(signal)
        }
    }
}

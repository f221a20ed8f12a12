#if canImport(Glibc)
import Glibc
#endif
import CFlowlogShim
import IPCWire

/// SIGTERM, SIGINT and SIGUSR1 as readable events on a descriptor (signalfd), so
/// the receive loop handles them between datagrams instead of in a handler.
public struct SignalWatch: ~Copyable {
    public let fd: OwnedFD

    /// Blocks the signals in the calling thread: create it first thing, before
    /// any other thread exists, so every thread inherits the mask.
    public init() throws(SystemCallError) {
        fd = OwnedFD(adopting: try systemCall("signalfd") { cellos_flowlog_signalfd() })
        // A reader that closed the events pipe must cost events, not the process.
        signal(SIGPIPE, SIG_IGN)
    }

    /// The pending signals, in arrival order.
    public func pending() throws(SystemCallError) -> [Int32] {
        var signals: [Int32] = []
        while true {
            let signal = try systemCall("read(signalfd)") { cellos_flowlog_read_signal(fd.rawValue) }
            if signal == 0 { return signals }
            signals.append(signal)
        }
    }
}

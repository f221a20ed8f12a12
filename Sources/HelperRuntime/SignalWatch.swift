#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// Signals as readable events on a descriptor (signalfd), so an event loop
/// handles them between reads instead of in a handler. Both capability-free
/// helpers watch SIGTERM and SIGINT (stop) and SIGUSR1 (print stats).
public struct SignalWatch: ~Copyable {
    public static let helperSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    public let fd: OwnedFD

    /// Blocks `signals` in the calling thread: create it first thing, before any
    /// other thread exists, so every thread inherits the mask. SIGPIPE is ignored:
    /// a reader that closed the events pipe must cost events, not the process.
    public init(_ signals: [Int32] = SignalWatch.helperSignals) throws(SystemCallError) {
        fd = OwnedFD(adopting: try systemCall("signalfd") {
            signals.withUnsafeBufferPointer { cellos_signalfd($0.baseAddress, $0.count) }
        })
        signal(SIGPIPE, SIG_IGN)
    }

    /// The next pending signal, or nil when none is pending.
    public func next() throws(SystemCallError) -> Int32? {
        let signal = try systemCall("read(signalfd)") { cellos_read_signal(fd.rawValue) }
        return signal == 0 ? nil : signal
    }

    /// The pending signals, in arrival order.
    public func pending() throws(SystemCallError) -> [Int32] {
        var signals: [Int32] = []
        while let signal = try next() { signals.append(signal) }
        return signals
    }
}

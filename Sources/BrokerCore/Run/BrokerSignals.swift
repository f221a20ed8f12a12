#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGINT/SIGTERM/SIGHUP to the broker: recorded, so the run loop tears the cell
/// down instead of the broker dying with a cell, helpers and a workload behind.
public enum BrokerSignals {
    static let received = Atomic<Int32>(0)

    public static func install() {
        // A parent may have started the broker with these blocked (the mask is inherited).
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            sigaddset(&unblock, signal)
        }
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in BrokerSignals.received.store(number, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0  // no SA_RESTART: a blocking poll returns EINTR
            sigaction(signal, &action, nil)
        }
    }

    /// The last termination signal received, if any.
    public static var pending: Int32? {
        let value = received.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }
}

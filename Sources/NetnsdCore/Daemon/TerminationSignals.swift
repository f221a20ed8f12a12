#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT, blocked so that they are received synchronously (`sigwait`)
/// instead of running a handler at an arbitrary point. Block them before creating
/// threads: the mask is inherited, so no thread takes them asynchronously.
public enum TerminationSignals {
    public static func block() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits until SIGTERM or SIGINT arrives and returns it.
    public static func wait() -> Int32 {
        var set = signalSet()
        var signal: Int32 = 0
        while sigwait(&set, &signal) != 0 {}
        return signal
    }

    static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}

import IPCWire

/// netnsd's readiness goes both ways it may be asked for: the suite's pipe
/// (`CELLOS_NOTIFY_FD`, when a cellos parent started it) and systemd's
/// `NOTIFY_SOCKET` (`Type=notify`), each only when its variable is set.
struct DaemonReadiness: ~Copyable {
    private var pipe: ReadinessNotifier?
    private let systemd: SystemdNotify?

    /// Nil when neither variable is set.
    static func fromProcess() throws(ActivationError) -> DaemonReadiness? {
        let systemd = SystemdNotify.fromProcess()
        guard let pipe = try Readiness.notifierFromProcess() else {
            if let systemd { return DaemonReadiness(pipe: nil, systemd: systemd) }
            return nil
        }
        return DaemonReadiness(pipe: pipe, systemd: systemd)
    }

    private init(pipe: consuming ReadinessNotifier?, systemd: SystemdNotify?) {
        self.pipe = pipe
        self.systemd = systemd
    }

    func status(_ text: String) {
        pipe?.status(text)
        systemd?.send([SystemdNotify.statusLine(text)])
    }

    consuming func ready(status text: String) {
        if let pipe = pipe.take() { pipe.ready() }
        systemd?.send(["READY=1", SystemdNotify.statusLine(text)])
    }
}

#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire
import NetworkNamespaces

/// `cellos-flowlog` minus argument parsing: obtain the socket, open the events
/// output, confine, report ready, run the loop until SIGTERM/SIGINT.
public enum FlowlogService {
    public static func run(_ options: FlowlogOptions) throws(FlowlogError) -> FlowlogStats {
        // Before any thread exists (a --netns thread inherits the mask).
        let signals: SignalWatch
        do { signals = try SignalWatch() } catch { throw .system(error) }
        let notifier: ReadinessNotifier?
        do { notifier = try Readiness.notifierFromProcess() } catch { throw .activation(error) }
        var listener: FlowListener
        do {
            listener = try prepareAndConfine(options)
        } catch {
            // The parent sees this line, then EOF instead of READY=1.
            notifier?.status(error.description)
            throw error
        }
        notifier?.status("listening, events to \(options.eventsPath)")
        if let notifier = consume notifier { notifier.ready() }
        do { try listener.run(signals: signals) } catch { throw .system(error) }
        return listener.stats
    }

    static func prepareAndConfine(_ options: FlowlogOptions) throws(FlowlogError) -> FlowListener {
        let listener = try prepare(options)
        // Root opened the group's socket and the events file; now become --user.
        if let target = RootStart.target(user: options.user, allowCapabilities: options.allowCapabilities, standalone: options.group != nil) {
            do { try IdentityDrop.apply(uid: target.uid, gid: target.gid) } catch { throw .privilegeDrop(error) }
        }
        do {
            // Capabilities first: the seccomp filter denies capset afterwards.
            try Confinement.dropCapabilities()
            try Confinement.apply()
        } catch { throw .confinement(error) }
        return listener
    }

    /// The socket (inherited or opened) and the events output, wrapped in a listener.
    static func prepare(_ options: FlowlogOptions) throws(FlowlogError) -> FlowListener {
        let socket: OwnedFD
        if let group = options.group {
            socket = try openStandalone(group: group, netnsPath: options.netnsPath)
        } else {
            guard options.netnsPath == nil else { throw .netnsWithoutGroup }
            socket = try takeInherited()
            do { try CapabilityRefusal.enforce(allowed: options.allowCapabilities) } catch { throw .capabilities(error) }
        }
        let output: EventWriter
        do { output = try EventWriter.open(path: options.eventsPath) } catch { throw .system(error) }
        return FlowListener(socket: socket, output: output, cellID: options.cellID, prefix: options.prefix)
    }

    static func openStandalone(group: UInt16, netnsPath: String?) throws(FlowlogError) -> OwnedFD {
        guard let netnsPath else {
            do { return try NflogSocket.open(group: group) } catch { throw .socket(error) }
        }
        // Created on a thread inside the namespace; the socket stays there, this
        // process stays in its own.
        let raw: Int32
        do {
            let namespace = try NetworkNamespace.open(path: netnsPath)
            raw = try NetworkNamespace.run(in: namespace) { try NflogSocket.open(group: group).release() }
        } catch let error as NflogSocketError {
            throw .socket(error)
        } catch {
            throw .namespace("\(netnsPath): \(error)")
        }
        return OwnedFD(adopting: raw)
    }

    static func takeInherited() throws(FlowlogError) -> OwnedFD {
        let inherited: InheritedDescriptors?
        do { inherited = try InheritedDescriptors.fromProcess() } catch { throw .activation(error) }
        guard var descriptors = consume inherited else { throw .noSocket }
        let socket: OwnedFD
        do { socket = try descriptors.take("nflog") } catch { throw .activation(error) }
        try checkNflogSocket(socket)
        return socket
    }

    /// The descriptor must be an AF_NETLINK / NETLINK_NETFILTER socket.
    static func checkNflogSocket(_ fd: borrowing OwnedFD) throws(FlowlogError) {
        func option(_ name: Int32) -> Int32? {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(fd.rawValue, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
        }
        guard let domain = option(SO_DOMAIN) else { throw .notAnNflogSocket("not a socket (errno \(errno))") }
        guard domain == AF_NETLINK else { throw .notAnNflogSocket("address family \(domain), expected AF_NETLINK") }
        guard option(SO_PROTOCOL) == NflogSocket.netlinkNetfilter else { throw .notAnNflogSocket("netlink protocol is not NETLINK_NETFILTER") }
    }
}

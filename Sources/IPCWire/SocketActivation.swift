#if canImport(Glibc)
import Glibc
#endif

/// Receiving side of the systemd socket-activation convention, which every cellos
/// helper uses for the sockets it is handed:
///
/// - `LISTEN_FDS=N`: descriptors 3 ..< 3+N are inherited;
/// - `LISTEN_PID`: must be this process's pid (a variable inherited by accident
///   from a grandparent does not count);
/// - `LISTEN_FDNAMES=a:b`: one name per descriptor, in order.
///
/// Parsing takes ownership of the descriptors (and sets `FD_CLOEXEC` on them so
/// they do not leak into anything the helper runs).
public struct InheritedDescriptors: ~Copyable {
    public static let firstDescriptor: Int32 = 3
    /// The same bound as a frame, for the same reason: no helper takes more.
    public static let maxDescriptors = FrameHeader.maxDescriptors

    public let names: [String]
    private var descriptors: DescriptorSet

    /// Parses the variables in `environment` as seen by process `pid`. Returns nil
    /// when the process was not socket-activated (`LISTEN_FDS` unset).
    /// `firstDescriptor` is 3 by the convention; tests move it out of the way of
    /// their own process's descriptors.
    public static func parse(
        environment: [String: String], pid: pid_t = getpid(), firstDescriptor: Int32 = firstDescriptor
    ) throws(ActivationError) -> InheritedDescriptors? {
        guard let rawCount = environment["LISTEN_FDS"] else { return nil }
        guard let rawPID = environment["LISTEN_PID"] else { throw .missingListenPID }
        guard let listenPID = pid_t(rawPID), listenPID > 0 else { throw .invalidListenPID(rawPID) }
        guard listenPID == pid else { throw .listenPIDMismatch(listenPID: listenPID, pid: pid) }
        guard let count = Int(rawCount), (0...maxDescriptors).contains(count) else {
            throw .invalidListenFDs(rawCount)
        }
        let names: [String]
        if let rawNames = environment["LISTEN_FDNAMES"] {
            names = count == 0 && rawNames.isEmpty ? [] : rawNames.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard names.count == count else { throw .nameCountMismatch(descriptors: count, names: names.count) }
            for name in names where !DescriptorName.isValid(name) { throw .invalidName(name) }
        } else {
            // systemd's default when no names are given.
            names = Array(repeating: "unknown", count: count)
        }
        let raw = (0..<Int32(count)).map { firstDescriptor + $0 }
        // Check all before adopting any: a failed parse must not close descriptors
        // this process may be using for something else.
        for fd in raw where fcntl(fd, F_GETFD) < 0 { throw .descriptorNotOpen(fd) }
        for fd in raw { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
        return InheritedDescriptors(names: names, descriptors: DescriptorSet(adopting: raw))
    }

    /// Parses this process's own environment and then removes the variables, so a
    /// child of the helper cannot mistake them for its own.
    public static func fromProcess() throws(ActivationError) -> InheritedDescriptors? {
        let parsed = try parse(environment: ProcessEnvironment.current())
        for name in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] { unsetenv(name) }
        return parsed
    }

    private init(names: [String], descriptors: consuming DescriptorSet) {
        self.names = names
        self.descriptors = descriptors
    }

    public var count: Int { names.count }

    /// Takes the descriptor named `name`; each name can be taken once.
    public mutating func take(_ name: String) throws(ActivationError) -> OwnedFD {
        guard let index = names.firstIndex(of: name) else { throw .missingName(name, available: names) }
        guard descriptors.raw(index) >= 0 else { throw .missingName(name, available: names) }
        return descriptors.take(index)
    }

    /// Takes every descriptor named `name` not yet taken, in order (systemd allows a
    /// name on several: cellos-egressproxy's IPv4 and IPv6 `l7-tcp` listeners).
    public mutating func takeAll(_ name: String) -> DescriptorSet {
        var taken = DescriptorSet()
        for index in names.indices where names[index] == name && descriptors.raw(index) >= 0 {
            taken.append(descriptors.take(index))
        }
        return taken
    }
}

/// A socket-activation environment that cannot be used, naming the bad variable.
public enum ActivationError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingListenPID
    case invalidListenPID(String)
    case listenPIDMismatch(listenPID: pid_t, pid: pid_t)
    case invalidListenFDs(String)
    case nameCountMismatch(descriptors: Int, names: Int)
    case invalidName(String)
    case descriptorNotOpen(Int32)
    case missingName(String, available: [String])

    public var description: String {
        switch self {
        case .missingListenPID: "LISTEN_FDS is set but LISTEN_PID is not"
        case .invalidListenPID(let raw): "LISTEN_PID='\(raw)' is not a positive pid"
        case .listenPIDMismatch(let listenPID, let pid): "LISTEN_PID=\(listenPID) is not this process (pid \(pid))"
        case .invalidListenFDs(let raw): "LISTEN_FDS='\(raw)' is not a count from 0 to \(InheritedDescriptors.maxDescriptors)"
        case .nameCountMismatch(let descriptors, let names): "LISTEN_FDNAMES has \(names) names for LISTEN_FDS=\(descriptors)"
        case .invalidName(let name): "LISTEN_FDNAMES entry '\(name)' \(DescriptorName.rule)"
        case .descriptorNotOpen(let fd): "inherited descriptor \(fd) is not open"
        case .missingName(let name, let available):
            "no inherited descriptor named '\(name)' (have: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
        }
    }
}

import Foundation
import IPCWire
import NetworkNamespaces

/// A throwaway network lab for integration tests: uniquely named network
/// namespaces, veth links between them, commands and closures run inside them,
/// and a teardown that removes all of it. Tests use `withLab`, which tears down
/// also when the body throws or an expectation fails.
///
/// The lab drives `ip` from iproute2: it is test scaffolding, never product code.
public final class Lab: @unchecked Sendable {
    /// Every name this lab creates starts with it (`cl` + 6 hex digits), so a leak
    /// check can look for exactly this lab's leftovers.
    public let prefix: String
    private var namespaces: [LabNamespace] = []
    private var processes: [Process] = []
    private var vethCount = 0
    private var tornDown = false

    public init() throws {
        try PrivilegedTest.requireRoot()
        prefix = "cl" + String(UInt32.random(in: 0...0xFF_FFFF), radix: 16).leftPadded(to: 6)
    }

    deinit { teardown() }

    /// Creates a namespace named `<prefix>-<role>` with `lo` up.
    @discardableResult
    public func addNamespace(_ role: String) throws -> LabNamespace {
        let namespace = LabNamespace(name: "\(prefix)-\(role)")
        try Shell.check(["ip", "netns", "add", namespace.name])
        namespaces.append(namespace)
        try Shell.check(["ip", "-n", namespace.name, "link", "set", "lo", "up"])
        return namespace
    }

    /// Links two namespaces with a veth pair, assigns each end an address in CIDR
    /// form (e.g. "10.77.0.1/24" or "fd00:77::1/64") and brings both up. IPv6
    /// addresses skip duplicate address detection (`nodad`), so they are usable at
    /// once instead of "tentative" (unbindable) for a second or so.
    @discardableResult
    public func link(_ a: LabNamespace, _ addressA: String, _ b: LabNamespace, _ addressB: String) throws -> VethPair {
        let pair = VethPair(nameA: "\(prefix)v\(vethCount)a", nameB: "\(prefix)v\(vethCount)b")
        vethCount += 1
        try Shell.check(["ip", "link", "add", pair.nameA, "netns", a.name, "type", "veth", "peer", "name", pair.nameB, "netns", b.name])
        for (namespace, device, address) in [(a, pair.nameA, addressA), (b, pair.nameB, addressB)] {
            let noDAD = address.contains(":") ? ["nodad"] : []
            try Shell.check(["ip", "-n", namespace.name, "addr", "add", address, "dev", device] + noDAD)
            try Shell.check(["ip", "-n", namespace.name, "link", "set", device, "up"])
        }
        return pair
    }

    /// Runs a command inside `namespace` and waits for it.
    public func run(in namespace: LabNamespace, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        try Shell.run(["ip", "netns", "exec", namespace.name] + arguments, input: input)
    }

    /// Starts a long-running command inside `namespace`; it is killed at teardown.
    @discardableResult
    public func start(in namespace: LabNamespace, _ arguments: [String]) throws -> Process {
        let process = try Shell.start(["ip", "netns", "exec", namespace.name] + arguments)
        processes.append(process)
        return process
    }

    /// Runs `body` on a thread that has entered `namespace`.
    public func inside<T>(_ namespace: LabNamespace, _ body: () throws -> T) throws -> T {
        let fd = try NetworkNamespace.open(path: namespace.path)
        return try NetworkNamespace.run(in: fd, body)
    }

    /// Kills what the lab started and deletes its namespaces (which takes their
    /// veths with them). Safe to call more than once.
    public func teardown() {
        guard !tornDown else { return }
        tornDown = true
        // SIGKILL, not terminate(): a test runner may leave SIGTERM ignored, and an
        // ignored signal stays ignored across exec.
        for process in processes where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for namespace in namespaces.reversed() {
            // Anything still running inside (started by the test by other means)
            // would keep the namespace alive after `ip netns delete`.
            if let pids = try? Shell.run(["ip", "netns", "pids", namespace.name]).stdout {
                for pid in pids.split(whereSeparator: \.isNewline).compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? Shell.run(["ip", "netns", "delete", namespace.name])
        }
        namespaces.removeAll()
    }

    /// What of this lab is still visible on the host: namespaces and links whose
    /// names carry the prefix. Empty after teardown.
    public func leftovers() throws -> [String] {
        let netns = try Shell.check(["ip", "netns", "list"]).stdout
        let links = try Shell.check(["ip", "-o", "link", "show"]).stdout
        return (netns + links).split(whereSeparator: \.isNewline).map(String.init).filter { $0.contains(prefix) }
    }
}

/// Creates a lab, runs `body`, and tears the lab down whatever happens.
public func withLab<T>(_ body: (Lab) throws -> T) throws -> T {
    let lab = try Lab()
    defer { lab.teardown() }
    return try body(lab)
}

public struct LabNamespace: Sendable, Hashable {
    public let name: String
    public var path: String { "/run/netns/\(name)" }
}

public struct VethPair: Sendable, Hashable {
    public let nameA: String
    public let nameB: String
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

import Foundation

/// Gate for tests that need root (namespaces, nftables, NFLOG, seccomp).
///
/// Outside CI such a test is skipped when not root. Under `CI=true` it always runs,
/// so a CI machine without the privilege fails the test instead of skipping it:
/// use `.enabled(if: PrivilegedTest.shouldRun)` on the test and call
/// `PrivilegedTest.requireRoot()` (the lab does) at its start.
public enum PrivilegedTest {
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    public static var isRoot: Bool { geteuid() == 0 }
    public static var shouldRun: Bool { isRoot || isCI }

    public struct NotRoot: Error, CustomStringConvertible {
        public var description: String { "this test needs root (CI=true forbids skipping it)" }
    }

    public static func requireRoot() throws {
        guard isRoot else { throw NotRoot() }
    }
}

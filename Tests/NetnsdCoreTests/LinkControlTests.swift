import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import NetworkNamespaces
import Testing

@Suite struct LinkControlTests {
    /// A fresh netns has `lo` down; after the rtnetlink request `ip` sees it up and
    /// 127.0.0.1 answers inside the netns.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func bringsLoopbackUpInAFreshNamespace() throws {
        try PrivilegedTest.requireRoot()
        let namespace = try freshNamespace()
        let enter = ["nsenter", "--net=/proc/\(getpid())/fd/\(namespace.rawValue)"]
        let before = try Shell.check(enter + ["ip", "-o", "link", "show", "lo"]).stdout
        #expect(!before.contains("<LOOPBACK,UP"))

        try LinkControl.bringLoopbackUp(in: namespace)

        let after = try Shell.check(enter + ["ip", "-o", "link", "show", "lo"]).stdout
        #expect(after.contains("<LOOPBACK,UP,LOWER_UP>"))
        // The host's lo is a different interface: the request went to the cell netns.
        let listener = try NetworkNamespace.run(in: namespace) { try NetProbe.tcpListener("127.0.0.1", 4242) }
        defer { close(listener) }
        #expect(try NetworkNamespace.run(in: namespace) { NetProbe.tcpConnect("127.0.0.1", 4242) } == 0)
    }

    /// The kernel's refusal comes back as the errno of the acknowledgement.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func reportsTheKernelsErrorForAMissingInterface() throws {
        try PrivilegedTest.requireRoot()
        let namespace = try freshNamespace()
        let error = try NetworkNamespace.run(in: namespace) { () -> SystemCallError? in
            do {
                try LinkControl.setUpHere(index: 4711)
                return nil
            } catch let error as SystemCallError { return error }
        }
        #expect(error?.errno == ENODEV)
        #expect(error?.context == "ifindex 4711")
    }
}

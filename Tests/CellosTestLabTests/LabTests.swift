import CellosTestLab
import Foundation
import IPCWire
import NetworkNamespaces
import Testing

/// The lab builds what a test asks for and leaves nothing behind, also on failure.
@Suite(.enabled(if: PrivilegedTest.shouldRun))
struct LabTests {
    struct Deliberate: Error {}

    @Test func namespacesAreLinkedAndReachable() throws {
        var prefix = ""
        try withLab { lab in
            prefix = lab.prefix
            let a = try lab.addNamespace("a")
            let b = try lab.addNamespace("b")
            let veth = try lab.link(a, "10.77.0.1/24", b, "10.77.0.2/24")
            #expect(veth.nameA.count <= 15)  // IFNAMSIZ
            let ping = try lab.run(in: a, ["ping", "-c", "1", "-W", "2", "10.77.0.2"])
            #expect(ping.succeeded, "\(ping.stderr)")
            // The host cannot see the lab's addresses: traffic stays inside the lab.
            let hostRoute = try Shell.run(["ip", "route", "get", "10.77.0.2"])
            #expect(!hostRoute.stdout.contains(veth.nameA) && !hostRoute.stdout.contains(veth.nameB))
        }
        try expectNothingLeft(prefix)
    }

    @Test func closureRunsInsideTheNamespace() throws {
        try withLab { lab in
            let a = try lab.addNamespace("inside")
            let host = try NetworkNamespace.hostIdentity()
            let inside = try lab.inside(a) { try NetworkNamespace.open(path: "/proc/thread-self/ns/net").identity() }
            let expected = try NetworkNamespace.open(path: a.path).identity()
            #expect(inside == expected)
            #expect(inside != host)
            // The calling thread is back in (never left) the host namespace.
            #expect(try NetworkNamespace.open(path: "/proc/thread-self/ns/net").identity() == host)
        }
    }

    @Test func teardownHappensWhenTheBodyThrows() throws {
        var prefix = ""
        #expect(throws: Deliberate.self) {
            try withLab { lab in
                prefix = lab.prefix
                let a = try lab.addNamespace("x")
                let b = try lab.addNamespace("y")
                try lab.link(a, "10.78.0.1/30", b, "10.78.0.2/30")
                try lab.start(in: a, ["sleep", "30"])
                throw Deliberate()
            }
        }
        try expectNothingLeft(prefix)
    }

    @Test func processesStartedInsideAreKilled() throws {
        var prefix = ""
        try withLab { lab in
            prefix = lab.prefix
            let a = try lab.addNamespace("proc")
            // Started behind the lab's back: teardown still finds it by namespace.
            let stray = try Shell.start(["ip", "netns", "exec", a.name, "sleep", "30"])
            var pids = ""
            for _ in 0..<50 where pids.isEmpty {
                pids = try Shell.check(["ip", "netns", "pids", a.name]).stdout
                if pids.isEmpty { usleep(20_000) }
            }
            #expect(pids.contains("\(stray.processIdentifier)"))
        }
        try expectNothingLeft(prefix)
    }

    func expectNothingLeft(_ prefix: String) throws {
        #expect(!prefix.isEmpty)
        let namespaces = try Shell.check(["ip", "netns", "list"]).stdout
        let links = try Shell.check(["ip", "-o", "link", "show"]).stdout
        #expect(!namespaces.contains(prefix), "namespaces left: \(namespaces)")
        #expect(!links.contains(prefix), "links left: \(links)")
    }
}

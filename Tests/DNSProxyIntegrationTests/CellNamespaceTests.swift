import CellosTestLab
import Foundation
import IPCWire
import Testing

/// The suite's key trick end to end: the DNS sockets are bound inside a cell's
/// network namespace (as netnsd does), the proxy runs in the host namespace and
/// reaches an upstream the cell itself cannot reach.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct CellNamespaceTests {
    @Test func cellResolvesThroughTheProxyWithoutARouteToTheResolver() throws {
        try PrivilegedTest.requireRoot()
        let dnsmasq = try DnsmasqUpstream()
        try withLab { lab in
            let cell = try lab.addNamespace("cell")
            // Bind 127.0.0.1:53 (UDP and TCP) inside the cell.
            let raw: [Int32] = try lab.inside(cell) {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                address.sin_port = UInt16(53).bigEndian
                var fds: [Int32] = []
                for type in [SOCK_DGRAM, SOCK_STREAM] {
                    let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                    guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
                    fds.append(fd)
                    let bound = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    guard bound == 0 else { throw HarnessError("bind in cell: errno \(errno)") }
                    if type == SOCK_STREAM { listen(fd, 16) }
                }
                return fds
            }
            let sockets = DescriptorSet(adopting: raw)
            let proxy = try RunningProxy(
                ["--upstream", "127.0.0.1:\(dnsmasq.port)", "--allow", "*.allowed.test", "--cell-id", lab.prefix],
                names: ["dns-udp", "dns-tcp"], descriptors: sockets)
            _ = consume sockets

            let viaProxy = try lab.run(in: cell, ["kdig", "@127.0.0.1", "+timeout=2", "+retry=0", "www.allowed.test", "A"])
            #expect(viaProxy.stdout.contains("status: NOERROR"), "\(viaProxy.stdout)")
            #expect(viaProxy.stdout.contains("192.0.2.10"))
            let overTCP = try lab.run(in: cell, ["kdig", "+tcp", "@127.0.0.1", "+timeout=2", "+retry=0", "www.allowed.test", "A"])
            #expect(overTCP.stdout.contains("status: NOERROR"), "\(overTCP.stdout)")
            // The resolver's own address means nothing inside the cell.
            let direct = try lab.run(in: cell, ["kdig", "@127.0.0.1", "-p", String(dnsmasq.port), "+timeout=1", "+retry=0",
                                                "www.allowed.test", "A"])
            #expect(!direct.stdout.contains("192.0.2.10"), "\(direct.stdout)")
            #expect(try proxy.stop() == 0)
            let events = try proxy.events()
            #expect(events.map { $0["transport"] as? String } == ["udp", "tcp"])
            #expect(events.allSatisfy { $0["cell_id"] as? String == lab.prefix })
        }
    }
}

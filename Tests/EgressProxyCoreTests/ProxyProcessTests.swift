import CellosTestLab
import Foundation
import IPCWire
import Testing

/// `cellos-egressproxy` as the broker runs it (an inherited `l7-tcp` listener,
/// readiness on the notify pipe, uid 65534 without capabilities), used as an
/// explicit proxy on loopback: dnsmasq resolves `*.allowed.test` to 127.0.0.1,
/// where openssl s_server and a plain HTTP server answer. Transparent mode (the
/// cell's nft redirect) is covered by the broker's end-to-end tests.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct ProxyProcessTests {
    let dnsmasq: DnsmasqUpstream
    let origin: OriginServers

    init() throws {
        try PrivilegedTest.requireRoot()
        dnsmasq = try DnsmasqUpstream(address: "127.0.0.1")
        origin = try OriginServers(names: ["a.allowed.test", "b.allowed.test"])
    }

    func proxy(_ extra: [String] = [], asNobody: Bool = true) throws -> (RunningHelper, UInt16) {
        let port = try FreePort.udp()
        var set = DescriptorSet()
        set.append(try Listener.bound(port))
        let arguments = ["--upstream", "127.0.0.1:\(dnsmasq.port)", "--allow", "*.allowed.test:\(origin.tlsPort)",
                         "--allow", "a.allowed.test:\(origin.httpPort)", "--cell-id", "c-l7", "--stats-in-events"] + extra
        let helper = try RunningHelper(binary: "cellos-egressproxy", arguments, names: ["l7-tcp"], descriptors: set, asNobody: asNobody)
        return (helper, port)
    }

    func curl(_ url: String, proxyPort: UInt16) throws -> CommandResult {
        try Shell.run(["curl", "-sS", "-k", "--max-time", "10", "--noproxy", "", "-x", "http://127.0.0.1:\(proxyPort)", url])
    }

    /// The decision lines (the stats line, last, excluded) once `count` are in.
    func decisions(_ helper: RunningHelper, _ count: Int) throws -> [[String: Any]] {
        try helper.waitForEvents(count).filter { $0["type"] as? String == "l7_egress_decision" }
    }

    @Test func httpsThroughConnectReachesTheAllowedName() throws {
        let (helper, port) = try proxy()
        let result = try curl("https://a.allowed.test:\(origin.tlsPort)/", proxyPort: port)
        #expect(result.status == 0, "\(result.stderr) \(helper.stderr)")
        #expect(result.stdout.contains("s_server"), "\(result.stdout)")
        let event = try #require(try decisions(helper, 1).first)
        #expect(event["reason"] as? String == "allowed")
        #expect(event["mode"] as? String == "explicit")
        #expect(event["name"] as? String == "a.allowed.test")
        #expect(event["upstream"] as? String == "127.0.0.1:\(origin.tlsPort)")
        #expect(event["cell_id"] as? String == "c-l7")
        #expect((event["bytes_down"] as? Int ?? 0) > 100)
        #expect(try helper.stop() == 0)
        let all = try helper.events()
        #expect(all.last?["type"] as? String == "egressproxy_stats")
        #expect(all.last?["allowed"] as? Int == 1)
    }

    @Test func plainHTTPWithAnAbsoluteURIIsForwardedInOriginForm() throws {
        let (helper, port) = try proxy()
        let result = try curl("http://a.allowed.test:\(origin.httpPort)/index.html", proxyPort: port)
        #expect(result.stdout == "hello from the origin\n", "\(result.stderr) \(helper.stderr)")
        #expect(try decisions(helper, 1).first?["reason"] as? String == "allowed")
    }

    @Test func deniedNameAndDeniedPortGet403() throws {
        let (helper, port) = try proxy()
        let name = try curl("https://c.denied.test:\(origin.tlsPort)/", proxyPort: port)
        #expect(name.status != 0)
        #expect(name.stderr.contains("403"), "\(name.stderr)")
        let wrongPort = try curl("https://b.allowed.test:\(origin.httpPort)/", proxyPort: port)
        #expect(wrongPort.stderr.contains("403"), "\(wrongPort.stderr)")
        let events = try decisions(helper, 2)
        #expect(events.map { $0["reason"] as? String } == ["denied_name", "denied_port"])
        #expect(events.allSatisfy { $0["upstream"] is NSNull })
    }

    @Test func sniThatDisagreesWithConnectAndAHelloWithoutSNIAreRefused() throws {
        let (helper, port) = try proxy()
        for extra in [["-servername", "b.allowed.test"], ["-noservername"]] {
            _ = try Shell.run(["openssl", "s_client", "-proxy", "127.0.0.1:\(port)", "-connect", "a.allowed.test:\(origin.tlsPort)"] + extra,
                              input: "")
        }
        let events = try decisions(helper, 2)
        #expect(events.map { $0["reason"] as? String } == ["name_mismatch", "no_sni"])
        #expect(events.map { $0["detail"] as? String } == ["connect_vs_sni", "no_server_name"])
    }

    @Test func aClientHelloSplitOverManyRecordsAndSegmentsIsReassembled() throws {
        let (helper, port) = try proxy()
        let client = try RawClient(port: port)
        client.send(Array("CONNECT a.allowed.test:\(origin.tlsPort) HTTP/1.1\r\n\r\n".utf8))
        #expect(client.receiveLine().hasPrefix("HTTP/1.1 200"))
        let hello = ClientHellos.withSNI("a.allowed.test", padding: 3000, recordSize: 100)
        var offset = 0
        while offset < hello.count {
            client.send(Array(hello[offset ..< min(offset + 37, hello.count)]))
            offset += 37
            usleep(1000)
        }
        client.close()
        let event = try #require(try decisions(helper, 1).first)
        #expect(event["reason"] as? String == "allowed", "\(event)")
        #expect(event["upstream"] as? String == "127.0.0.1:\(origin.tlsPort)")
    }

    @Test func oversizedHeadAndSilentClientAreMalformed() throws {
        let (helper, port) = try proxy(["--handshake-timeout", "300ms"])
        let big = try RawClient(port: port)
        big.send(Array(("GET http://a.allowed.test/ HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 9000)).utf8))
        #expect(big.receiveLine().hasPrefix("HTTP/1.1 400"))
        let silent = try RawClient(port: port)
        usleep(600_000)
        let events = try decisions(helper, 2)
        #expect(events.map { $0["reason"] as? String } == ["malformed", "malformed"])
        #expect(Set(events.compactMap { $0["detail"] as? String }) == ["header_too_large", "handshake_timeout"])
        silent.close()
        big.close()
    }

    @Test func refusesToRunWithCapabilities() throws {
        do {
            _ = try proxy([], asNobody: false)
            Issue.record("the proxy reported ready while holding capabilities")
        } catch let error as HarnessError {
            #expect(error.description.contains("refusing to run with capabilities"), "\(error)")
        }
    }

    @Test func printCapabilitiesDeclaresNone() throws {
        let result = try Shell.check([try BuiltProducts.path(of: "cellos-egressproxy"), "--print-capabilities"])
        #expect(result.stdout == "{\"capabilities\":[],\"mask\":\"0000000000000000\"}\n")
    }
}

/// A listening TCP socket on 127.0.0.1, as netnsd binds `l7-tcp` in the cell.
enum Listener {
    static func bound(_ port: UInt16) throws -> OwnedFD {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: errno \(errno)") }
        let owned = OwnedFD(adopting: fd)
        guard withLoopback(port, { bind(fd, $0, $1) }) == 0, listen(fd, 64) == 0 else { throw HarnessError("bind/listen: errno \(errno)") }
        return owned
    }
}

/// `127.0.0.1:port` as the sockaddr a bind or connect takes.
func withLoopback(_ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// A blocking TCP client the test drives byte by byte.
final class RawClient {
    let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard withLoopback(port, { connect(fd, $0, $1) }) == 0 else { throw HarnessError("connect: errno \(errno)") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Bytes up to the first CRLF (or whatever arrived before EOF or the timeout).
    func receiveLine() -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            line.append(byte)
            if line.suffix(2) == [13, 10] { break }
        }
        return String(decoding: line, as: UTF8.self)
    }

    private var closed = false
    func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }
}

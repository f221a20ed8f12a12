import CellosTestLab
@testable import EgressProxyCore
import Foundation
import IPCWire
import Testing

@Suite struct EgressSyscallFilterTests {
    /// On a thread of its own (no TSYNC), so the test process stays unconfined.
    @Test func filesAndNonInetSocketsAreDeniedInetSocketsAllowed() {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var results: (install: String?, open: Int32, unix: Int32, netlink: Int32, inet: Bool) = (nil, 0, 0, 0, false)
        let thread = Thread {
            defer { done.signal() }
            do { try EgressSyscallFilter.install(allThreads: false) } catch {
                results.install = "\(error)"
                return
            }
            let fd = open("/etc/hostname", O_RDONLY)
            results.open = fd < 0 ? errno : 0
            let unix = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            results.unix = unix < 0 ? errno : 0
            let netlink = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue), 0)
            results.netlink = netlink < 0 ? errno : 0
            let inet = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            results.inet = inet >= 0
            for opened in [fd, unix, netlink, inet] where opened >= 0 { close(opened) }
        }
        thread.start()
        done.wait()
        #expect(results.install == nil)
        #expect(results.open == EPERM)
        #expect(results.unix == EPERM)
        #expect(results.netlink == EPERM)
        #expect(results.inet)
    }
}

/// The running proxy (as uid 65534, inherited listener) is confined: seccomp
/// filter mode, no_new_privs, no capability, not dumpable.
@Suite(.serialized, .enabled(if: PrivilegedTest.shouldRun))
struct RunningProxyConfinementTests {
    @Test func theServingProcessIsConfined() throws {
        try PrivilegedTest.requireRoot()
        var set = DescriptorSet()
        set.append(try Listener.bound(try FreePort.udp()))
        let proxy = try RunningHelper(binary: "cellos-egressproxy", ["--upstream", "127.0.0.1:53", "--allow", "a.test"],
                                      names: ["l7-tcp"], descriptors: set)
        let status = try String(contentsOfFile: "/proc/\(proxy.pid)/status", encoding: .utf8)
        let fields = Dictionary(status.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
        }, uniquingKeysWith: { first, _ in first })
        #expect(fields["Seccomp"] == "2", "\(status)")
        #expect(fields["NoNewPrivs"] == "1")
        #expect(fields["CapEff"] == "0000000000000000")
        #expect(fields["CapPrm"] == "0000000000000000")
        // Not dumpable: /proc/<pid>/environ belongs to root, not the proxy's uid.
        var info = stat()
        #expect(stat("/proc/\(proxy.pid)/environ", &info) == 0 && info.st_uid == 0)
        #expect(try proxy.stop() == 0)
    }
}

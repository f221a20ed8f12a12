import CellosTestLab
import Foundation
import HelperRuntime
import IPCWire
import NetnsdCore
import Testing

@Suite struct CapabilityTests {
    @Test func printCapabilitiesIsTheDeclaredSetAsJSON() throws {
        let result = try Shell.check([BuiltExecutable.netnsd, "--print-capabilities"])
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let entries = try #require(object["capabilities"] as? [[String: Any]])
        #expect(entries.compactMap { $0["name"] as? String } == DeclaredCapabilities.capabilities.map(\.name))
        // Every entry names the operation that needs it.
        #expect(entries.allSatisfy { (($0["operation"] as? String) ?? "").count > 10 })
        // The mask is consistent with the listed numbers and printed like /proc CapEff.
        let numbers = entries.compactMap { $0["number"] as? Int }
        let mask = numbers.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) }
        #expect(object["mask"] as? String == CapabilityMask.hex(mask))
        #expect(CapabilityMask.hex(mask) == CapabilityMask.hex(DeclaredCapabilities.mask))
    }

    @Test func statusParserReadsAllFiveMasksAndRejectsGaps() throws {
        let text = "Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t0000000000201400\nCapEff:\t0000000000201400\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000001\nNoNewPrivs:\t1\n"
        let status = try ProcessStatus.parse(text)
        #expect(status.permitted == 0x201400)
        #expect(status.bounding == 0x1ff_ffff_ffff)
        #expect(status.ambient == 1)
        #expect(throws: ProcessStatusError.missing("CapAmb")) {
            try ProcessStatus.parse(text.replacingOccurrences(of: "CapAmb:\t0000000000000001\n", with: ""))
        }
        #expect(throws: ProcessStatusError.malformed(field: "CapEff", reason: "'zz' is not a 64-bit hex mask")) {
            try ProcessStatus.parse(text.replacingOccurrences(of: "CapEff:\t0000000000201400", with: "CapEff:\tzz"))
        }
    }

    /// The daemon is started with an inheritable and ambient capability outside the
    /// declared set (via `setpriv`), so every one of the five sets has something to
    /// drop; once it reports ready, its status must show exactly the declared mask.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func runningDaemonHoldsExactlyTheDeclaredSet() throws {
        try PrivilegedTest.requireRoot()
        let before = try ProcessStatus.ofThisProcess()
        #expect(before.bounding & ~DeclaredCapabilities.mask != 0, "the test runner must hold more than the declared set")

        let socketPath = "/tmp/cellos-netnsd-caps-\(getpid()).sock"
        let stateDirectory = "/tmp/cellos-netnsd-caps-state-\(getpid())"
        var spawned = try ActivatedSpawn.spawn(
            executable: "/usr/bin/setpriv",
            arguments: ["--inh-caps", "+net_raw", "--ambient-caps", "+net_raw", "--", BuiltExecutable.netnsd,
                        "--socket", socketPath, "--state-dir", stateDirectory, "--allow-uid", "0"],
            environment: ["PATH": "/usr/bin:/bin"], names: [], descriptors: DescriptorSet())
        let pid = spawned.pid
        defer {
            Self.stop(pid)
            unlink(socketPath)
            try? FileManager.default.removeItem(atPath: stateDirectory)
        }
        try spawned.waitUntilReady(timeoutMilliseconds: 10_000)

        let statusText = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let status = try ProcessStatus.parse(statusText)
        #expect(statusText.contains("NoNewPrivs:\t1"))
        // The mask the executable itself declares, read the way an operator would.
        let printed = try Shell.check([BuiltExecutable.netnsd, "--print-capabilities"]).stdout
        let object = try #require(JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any])
        let maskText = try #require(object["mask"] as? String)
        let declared = try #require(UInt64(maskText, radix: 16))
        #expect(declared == DeclaredCapabilities.mask)
        #expect(CapabilityMask.hex(status.effective) == CapabilityMask.hex(declared))
        #expect(CapabilityMask.hex(status.permitted) == CapabilityMask.hex(declared))
        #expect(CapabilityMask.hex(status.bounding) == CapabilityMask.hex(declared))
        #expect(status.inheritable == 0)
        #expect(status.ambient == 0)
    }

    /// The daemon refuses to start without a socket or without any allowed client.
    @Test func daemonRefusesToRunWithoutSocketOrClients() throws {
        let noSocket = try Shell.run([BuiltExecutable.netnsd, "--allow-uid", "0"])
        #expect(noSocket.status != 0)
        #expect(noSocket.stderr.contains("--socket PATH is required"))
        let noClients = try Shell.run([BuiltExecutable.netnsd, "--socket", "/tmp/unused.sock"])
        #expect(noClients.status != 0)
        #expect(noClients.stderr.contains("--allow-uid or --allow-gid"))
    }

    /// Each declared capability is needed: the operation its entry names succeeds
    /// with the test's full set and fails with EPERM/EACCES once only that one
    /// capability is removed from the bounding set (standard tools stand in for
    /// the daemon's own calls, which are the same system calls).
    @Test(.enabled(if: PrivilegedTest.shouldRun), arguments: [
        ("CAP_SYS_ADMIN", "sys_admin", ["unshare", "-n", "true"], "Operation not permitted"),
        ("CAP_NET_ADMIN", "net_admin", ["unshare", "-n", "sh", "-c", "ip link set lo up && nft add table inet cellos"], "Operation not permitted"),
        ("CAP_NET_BIND_SERVICE", "net_bind_service", ["unshare", "-n", "sh", "-c", "ip link set lo up && " + bindPort53], "Permission denied"),
        ("CAP_SETUID", "setuid", ["setpriv", "--reuid", "65534", "true"], "Operation not permitted"),
        ("CAP_SETGID", "setgid", ["setpriv", "--regid", "65534", "--clear-groups", "true"], "Operation not permitted"),
        ("CAP_SETPCAP", "setpcap", ["python3", "-c", dropNetRawFromBoundingSet], "Operation not permitted"),
        ("CAP_KILL", "kill", ["sh", "-c", "setpriv --reuid 65534 --regid 65534 --clear-groups sleep 2 </dev/null >/dev/null 2>&1 & p=$!; sleep 0.1; kill -0 $p; s=$?; kill -9 $p 2>/dev/null; exit $s"], "Operation not permitted"),
    ])
    func eachDeclaredCapabilityIsNeededByItsOperation(name: String, setprivName: String, operation: [String], refusal: String) throws {
        try PrivilegedTest.requireRoot()
        #expect(DeclaredCapabilities.capabilities.map(\.name).contains(name))
        let withIt = try Shell.run(operation)
        #expect(withIt.succeeded, "\(withIt.stderr)")
        let without = try Shell.run(["setpriv", "--bounding-set", "-\(setprivName)", "--"] + operation)
        #expect(!without.succeeded)
        #expect(without.stderr.contains(refusal), "\(without.stderr)")
    }

    /// PR_CAPBSET_DROP (24) of CAP_NET_RAW (13), as the workload's child drops every
    /// capability (setpriv --bounding-set ignores the failure, so it cannot stand in).
    static let dropNetRawFromBoundingSet = "import ctypes, os, sys; libc = ctypes.CDLL(None, use_errno=True); libc.prctl(24, 13, 0, 0, 0) == 0 or sys.exit('PR_CAPBSET_DROP: ' + os.strerror(ctypes.get_errno()))"

    static let bindPort53 = "perl -MSocket -e 'socket(S, PF_INET, SOCK_DGRAM, 0) or die; bind(S, pack_sockaddr_in(53, inet_aton(q{127.0.0.1}))) or die qq{bind: $!\\n}'"

    static func stop(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}

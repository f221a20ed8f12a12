import CellosTestLab
import Foundation
import IPCWire
import NetnsdCore
import NetworkNamespaces
import Testing

/// The `cellos-netnsd` executable as a daemon: spawned with a control socket,
/// driven over IPCWire by `NetnsdClient`, observed through /proc.
@Suite(.serialized) struct DaemonTests {
    /// A running daemon, killed (SIGKILL) at the end of the test unless it exited.
    final class RunningDaemon {
        let pid: pid_t
        let socketPath: String
        /// Its `--state-dir`: one of its own (removed at the end) unless the test passed one.
        let stateDirectory: String
        private let ownsStateDirectory: Bool
        private var reaped = false

        /// `log`: the daemon's standard error goes to that file (appended).
        /// `wrapper` (e.g. `prlimit --nofile=64 --`) execs the daemon in place, so `pid` stays its.
        init(arguments: [String], stateDirectory: String? = nil, socketPath: String? = nil, log: String? = nil, wrapper: [String] = []) throws {
            let unique = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            self.socketPath = socketPath ?? "/tmp/cellos-netnsd-test-\(unique).sock"
            ownsStateDirectory = stateDirectory == nil
            self.stateDirectory = stateDirectory ?? "/tmp/cellos-netnsd-state-\(unique)"
            let command = wrapper + [BuiltExecutable.netnsd, "--socket", self.socketPath, "--state-dir", self.stateDirectory] + arguments
            // `sh` execs in place: the pid and the readiness pipe are the daemon's.
            let (executable, argv) = log.map { ("/bin/sh", ["-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"", "sh", $0] + command) }
                ?? (command[0], Array(command.dropFirst()))
            var spawned = try ActivatedSpawn.spawn(
                executable: executable, arguments: argv, environment: [:], names: [], descriptors: DescriptorSet())
            pid = spawned.pid
            do {
                try spawned.waitUntilReady(timeoutMilliseconds: 10_000)
            } catch {
                kill(pid, SIGKILL)
                _ = waitpid(pid, nil, 0)
                reaped = true
                removeOwnState()
                throw error
            }
        }

        deinit {
            if !reaped {
                kill(pid, SIGKILL)
                _ = waitpid(pid, nil, 0)
            }
            unlink(socketPath)
            removeOwnState()
        }

        private func removeOwnState() {
            if ownsStateDirectory { try? FileManager.default.removeItem(atPath: stateDirectory) }
        }

        /// SIGKILL, reaped; returns when the daemon is gone.
        func killHard() {
            guard !reaped else { return }
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
            reaped = true
        }

        func listing() -> String {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return entries.sorted().map { "\($0)->" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "?") }.joined(separator: " ")
        }

        /// The descriptor count once the daemon has closed its readiness pipe (it
        /// writes READY=1 and then closes it, so right after READY it may still be open).
        func settledDescriptors() throws -> Int {
            let deadline = Monotonic.milliseconds() + 5000
            while Monotonic.milliseconds() < deadline {
                let entries = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
                let pipes = entries.filter { (Int($0) ?? 0) > 2 }.filter {
                    ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "").hasPrefix("pipe:")
                }
                if pipes.isEmpty { return entries.count }
                usleep(5_000)
            }
            throw POSIXError(.ETIMEDOUT)
        }

        func openDescriptors() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        }

        /// Waits (bounded) until the daemon's descriptor count is `expected`; returns the last count.
        func waitForDescriptors(_ expected: Int) throws -> Int {
            let deadline = Monotonic.milliseconds() + 5000
            var count = try openDescriptors()
            while count != expected && Monotonic.milliseconds() < deadline {
                usleep(10_000)
                count = try openDescriptors()
            }
            return count
        }

        /// Processes whose parent is the daemon (its workloads), from /proc/*/stat.
        func children() -> [pid_t] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap { entry -> pid_t? in
                guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")") else { return nil }
                // After "comm)": state, then ppid.
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 1 && pid_t(fields[1]) == self.pid ? pid : nil
            }
        }

        /// Sends SIGTERM and returns the exit status word.
        func terminate() -> Int32 {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            reaped = true
            return status
        }
    }

    static func policy() throws -> EgressPolicy {
        try EgressPolicy(allow: [try AllowRule(spec: "1,tcp,10.77.0.0/24,80")])
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func createdCellsDescriptorsArriveAndDisconnectDestroysTheCell() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0"])
        let baseline = try daemon.settledDescriptors()
        do {
            var client = try NetnsdClient.connect(path: daemon.socketPath)
            var reply = try client.request(CreateCell(cellID: try CellID("d1"), policy: try Self.policy()))
            #expect(reply.message == .cellCreated(CellCreated(cellID: try CellID("d1"), names: ["netns", "dns-udp", "dns-tcp", "nflog"])))
            let namespace = reply.descriptors.take(0)
            let udp = reply.descriptors.take(1)
            let tcp = reply.descriptors.take(2)
            let nflog = reply.descriptors.take(3)
            let cellIdentity = try namespace.identity()
            let udpIdentity = try SocketNamespace.identity(of: udp)
            let tcpIdentity = try SocketNamespace.identity(of: tcp)
            let nflogIdentity = try SocketNamespace.identity(of: nflog)
            #expect(udpIdentity == cellIdentity)
            #expect(tcpIdentity == cellIdentity)
            #expect(nflogIdentity == cellIdentity)
            #expect(try cellIdentity != NetworkNamespace.hostIdentity())
            // A query sent from inside the cell arrives on the socket this client received.
            #expect(try NetworkNamespace.run(in: namespace) { NetProbe.udpSend("127.0.0.1", 53, [0xD1, 0x5C]) } == 0)
            var buffer = [UInt8](repeating: 0, count: 8)
            var ready = pollfd(fd: udp.rawValue, events: Int16(POLLIN), revents: 0)
            #expect(poll(&ready, 1, 2000) == 1)
            let received = buffer.withUnsafeMutableBytes { recv(udp.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            #expect(Array(buffer.prefix(max(0, received))) == [0xD1, 0x5C])
            // A dropped packet (DNS to a server other than the resolver) arrives on
            // the passed NFLOG socket with the prefix naming verdict and rule.
            #expect(try NetworkNamespace.run(in: namespace) { NetProbe.udpSend("127.0.0.2", 53) } == EPERM)
            var logged = pollfd(fd: nflog.rawValue, events: Int16(POLLIN), revents: 0)
            #expect(poll(&logged, 1, 2000) == 1)
            var datagram = [UInt8](repeating: 0, count: 65_536)
            let length = datagram.withUnsafeMutableBytes { recv(nflog.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            let text = String(decoding: datagram.prefix(max(0, length)).map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            #expect(text.contains("cellos-flow drop dns"))
            // The daemon holds the cell's four descriptors and its libnftables
            // socket, the connection and the connection's event descriptor (its
            // copies of the reply's descriptors close just after the reply is sent).
            #expect(try daemon.waitForDescriptors(baseline + 7) == baseline + 7, "\(daemon.listing())")
        }
        // The client went away without DestroyCell: the daemon destroys its cell.
        #expect(try daemon.waitForDescriptors(baseline) == baseline, "\(daemon.listing())")
        #expect(daemon.terminate() == 0)
    }

    /// A daemon for the leak tests: cgroup leaves with limits (v2 root, v1 beneath
    /// its own cgroups) and uplinks into a lab namespace, so every kind of thing a
    /// cell owns outside its netns exists and can be counted afterwards.
    static func withLeakLab(_ body: (WorkloadLimitTests.LimitedDaemon, _ leftovers: () throws -> [String]) throws -> Void) throws {
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let limited = try WorkloadLimitTests.LimitedDaemon(extraArguments: ["--uplink-pool", "10.203.0.0/22", "--uplink-netns", up.path])
            try body(limited) {
                let links = try lab.run(in: up, ["ip", "-o", "link", "show"]).stdout.split(separator: "\n").filter { $0.contains("cellosu") }
                let tables = try lab.run(in: up, ["nft", "list", "tables"]).stdout.split(separator: "\n").filter { $0.contains("cellos_uplink") }
                return (links + tables).map(String.init) + limited.liveLeaves()
            }
        }
    }

    static let leakLimits = try! CgroupLimits(memoryMaxBytes: 64 << 20, pidsMax: 32, cpuPercent: 100)

    /// 50 clients each create a cell (with an uplink) and a parked workload (in
    /// its cgroup leaves) and disconnect without destroying anything: no
    /// descriptor, process, veth, NAT table or cgroup leaf is left.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func fiftyDisconnectsWithoutDestroyLeaveNothingBehind() throws {
        try PrivilegedTest.requireRoot()
        try Self.withLeakLab { limited, leftovers in
            let daemon = limited.daemon
            let baseline = try daemon.settledDescriptors()
            for index in 0..<50 {
                var client = try NetnsdClient.connect(path: daemon.socketPath)
                let id = try CellID("leak-\(index)")
                let reply = try client.request(CreateCell(cellID: id, policy: try Self.policy()))
                let spawned = try client.request(try WorkloadLimitTests.spawn(id, ["/bin/sleep", "30"], Self.leakLimits))
                guard case .cellCreated = reply.message, case .workloadSpawned = spawned.message else {
                    Issue.record("cycle \(index): \(reply.message) / \(spawned.message)")
                    return
                }
            }
            #expect(try daemon.waitForDescriptors(baseline) == baseline, "\(daemon.listing())")
            let deadline = Monotonic.milliseconds() + 5000
            while try (!daemon.children().isEmpty || !leftovers().isEmpty) && Monotonic.milliseconds() < deadline { usleep(20_000) }
            #expect(daemon.children().isEmpty)
            #expect(try leftovers() == [])
            #expect(daemon.terminate() == 0)
        }
    }

    /// 200 create → spawn → start → exited → destroy cycles on one connection,
    /// each cell with an uplink and a workload in cgroup leaves with limits,
    /// leave no daemon descriptor, process, veth, NAT table or cgroup leaf behind.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func twoHundredFullCyclesLeaveNothingBehind() throws {
        try PrivilegedTest.requireRoot()
        try Self.withLeakLab { limited, leftovers in
            let daemon = limited.daemon
            var client = try NetnsdClient.connect(path: daemon.socketPath)
            // One round trip first, so the connection is accepted before the baseline is taken.
            _ = try client.request(DestroyCell(cellID: try CellID("warmup")))
            let baseline = try daemon.settledDescriptors()
            let policy = try Self.policy()
            for index in 0..<200 {
                let id = try CellID("cycle-\(index)")
                let created = try client.request(CreateCell(cellID: id, policy: policy))
                let spawned = try client.request(try WorkloadLimitTests.spawn(id, ["/bin/true"], Self.leakLimits))
                let started = try client.request(StartWorkload(cellID: id))
                let exited = try client.nextExit()
                let destroyed = try client.request(DestroyCell(cellID: id))
                guard case .cellCreated = created.message, case .workloadSpawned = spawned.message, case .workloadStarted = started.message,
                    exited.sameOutcome(as: WorkloadExited(cellID: id, exitCode: 0, signal: nil)),
                    destroyed.message == .cellDestroyed(CellDestroyed(cellID: id)) else {
                    Issue.record("cycle \(index): \(created.message) / \(spawned.message) / \(started.message) / \(exited) / \(destroyed.message)")
                    return
                }
            }
            #expect(try daemon.waitForDescriptors(baseline) == baseline, "\(daemon.listing())")
            #expect(daemon.children().isEmpty)
            #expect(try leftovers() == [])
            #expect(daemon.terminate() == 0)
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func unauthorizedPeerIsRefusedAndTheDaemonKeepsServing() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "4243"])
        let baseline = try daemon.settledDescriptors()
        // Root is not listed: refused before any request is read.
        var refused = try NetnsdClient.connect(path: daemon.socketPath)
        let reply = try refused.receiveReply()
        guard case .error(let error) = reply.message else {
            Issue.record("root was admitted: \(reply.message)")
            return
        }
        #expect(error.code == "unauthorized")
        #expect(error.message.contains("uid 0"))
        #expect(try daemon.waitForDescriptors(baseline) == baseline)

        // An allowed uid (a ctl client run as uid 4243) is served afterwards.
        chmod(daemon.socketPath, 0o666)
        let admitted = try Shell.run([
            "setpriv", "--reuid", "4243", "--regid", "4243", "--clear-groups", "--",
            BuiltExecutable.netnsd, "ctl", "destroy", "--socket", daemon.socketPath, "--id", "nobody-s-cell",
        ])
        #expect(admitted.stdout.contains("unknown_cell"), "\(admitted.stdout) \(admitted.stderr)")
        #expect(daemon.terminate() == 0)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func malformedDatagramIsRefusedAndTheConnectionGoesOn() throws {
        try PrivilegedTest.requireRoot()
        let daemon = try RunningDaemon(arguments: ["--allow-uid", "0"])
        var client = try NetnsdClient.connect(path: daemon.socketPath)
        let garbage: [UInt8] = Array("not an IPCWire frame at all".utf8)
        let sent = garbage.withUnsafeBytes { send(client.connection.socket.rawValue, $0.baseAddress, $0.count, 0) }
        #expect(sent == garbage.count)
        let refusal = try client.receiveReply()
        guard case .error(let error) = refusal.message else {
            Issue.record("garbage was accepted: \(refusal.message)")
            return
        }
        #expect(error.code == "invalid_request")
        #expect(error.message.contains("bad magic"))
        let reply = try client.request(DestroyCell(cellID: try CellID("none")))
        guard case .error(let next) = reply.message else {
            Issue.record("unexpected \(reply.message)")
            return
        }
        #expect(next.code == "unknown_cell")
    }

    /// The control socket can come from socket activation (named "control"); a
    /// descriptor that is not a listening SOCK_SEQPACKET socket is refused at startup.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func socketActivatedControlSocketIsServedAndAWrongOneRefused() throws {
        try PrivilegedTest.requireRoot()
        let path = "/tmp/cellos-netnsd-activated-\(getpid()).sock"
        let states = ["served", "refused"].map { "/tmp/cellos-netnsd-activated-\(getpid())-\($0)" }
        defer {
            unlink(path)
            for state in states { try? FileManager.default.removeItem(atPath: state) }
        }
        let listener = try SeqpacketListener.bind(path: path)
        var descriptors = DescriptorSet()
        descriptors.append(try listener.socket.duplicate())
        var spawned = try ActivatedSpawn.spawn(
            executable: BuiltExecutable.netnsd, arguments: ["--allow-uid", "0", "--state-dir", states[0]], environment: [:],
            names: [NetnsdRole.controlSocketName], descriptors: descriptors)
        let pid = spawned.pid
        defer {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
        try spawned.waitUntilReady(timeoutMilliseconds: 10_000)
        var client = try NetnsdClient.connect(path: path)
        let created = try client.request(CreateCell(cellID: try CellID("activated"), policy: try Self.policy()))
        guard case .cellCreated = created.message else {
            Issue.record("activated daemon did not create: \(created.message)")
            return
        }
        let destroyed = try client.request(DestroyCell(cellID: try CellID("activated")))
        #expect(destroyed.message == .cellDestroyed(CellDestroyed(cellID: try CellID("activated"))))

        // A datagram socket under the same name: the daemon refuses it and never reports ready.
        var wrong = DescriptorSet()
        wrong.append(OwnedFD(adopting: socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)))
        var refused = try ActivatedSpawn.spawn(
            executable: BuiltExecutable.netnsd, arguments: ["--allow-uid", "0", "--state-dir", states[1]], environment: [:],
            names: [NetnsdRole.controlSocketName], descriptors: wrong)
        defer { _ = waitpid(refused.pid, nil, 0) }
        var outcome: ReadinessError?
        do {
            try refused.waitUntilReady(timeoutMilliseconds: 10_000)
        } catch {
            outcome = error
        }
        let lastStatus: String? = if case .closedBeforeReady(_, let status)? = outcome { status } else { nil }
        #expect(lastStatus?.contains("not a listening SOCK_SEQPACKET socket") == true, "\(String(describing: outcome))")
    }

    /// Waits (at most 5 s) for slot 0's veth and NAT table to leave `up`; what is left.
    static func waitForUplinkRemoval(_ lab: Lab, in up: LabNamespace) throws -> (link: Bool, table: Bool) {
        func uplinkLeft() throws -> (link: Bool, table: Bool) {
            (try lab.run(in: up, ["ip", "-o", "link", "show", "cellosu0"]).succeeded,
             try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains("cellos_uplink_0"))
        }
        let deadline = Monotonic.milliseconds() + 5000
        var left = try uplinkLeft()
        while (left.link || left.table) && Monotonic.milliseconds() < deadline {
            usleep(20_000)
            left = try uplinkLeft()
        }
        return left
    }

    /// With --uplink-pool/--uplink-netns, a daemon that holds only its declared
    /// capabilities gives an egress cell a working uplink, and a client's
    /// disconnect removes it.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func daemonBuildsUplinksWithItsDeclaredCapabilitiesAndRemovesThemOnDisconnect() throws {
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let net = try lab.addNamespace("net")
            try lab.link(up, "10.98.0.1/24", net, "10.98.0.2/24")
            var listeners: [Int32] = []
            defer { listeners.forEach { _ = close($0) } }
            try lab.inside(net) { listeners.append(try NetProbe.tcpListener("10.98.0.2", 443)) }
            let daemon = try RunningDaemon(arguments: ["--allow-uid", "0", "--uplink-pool", "10.201.0.0/24", "--uplink-netns", up.path])
            do {
                var client = try NetnsdClient.connect(path: daemon.socketPath)
                var reply = try client.request(CreateCell(cellID: try CellID("up1"), policy: try EgressPolicy(allow: [try AllowRule(spec: "1,tcp,10.98.0.2,443")])))
                guard case .cellCreated = reply.message else {
                    Issue.record("\(reply.message)")
                    return
                }
                let namespace = reply.descriptors.take(0)
                // A fresh veth may still be bringing its carrier up: allow a retransmission.
                #expect(try NetworkNamespace.run(in: namespace) { NetProbe.tcpConnect("10.98.0.2", 443, timeoutMilliseconds: 3000) } == 0)
                #expect(try lab.run(in: up, ["ip", "-o", "link", "show", "cellosu0"]).succeeded)
                // Without --uplink-pool6 an IPv6 allow rule could never connect: refused, naming it.
                reply = try client.request(CreateCell(cellID: try CellID("up2"), policy: try EgressPolicy(allow: [try AllowRule(spec: "3,tcp,fd00:98::2,443")])))
                guard case .error(let refusal) = reply.message else {
                    Issue.record("an IPv6 rule was accepted with an IPv4-only pool: \(reply.message)")
                    return
                }
                #expect(refusal.code == NetnsdSession.ErrorCode.invalidRequest)
                #expect(refusal.message.contains("allow rule r3") && refusal.message.contains("--uplink-pool6"), "\(refusal.message)")
            }
            // Disconnected: the daemon destroys the cell and its uplink (asynchronously
            // to this client, so wait, bounded, for both the veth and the NAT table to go).
            let left = try Self.waitForUplinkRemoval(lab, in: up)
            #expect(!left.link)
            #expect(!left.table)
            #expect(daemon.terminate() == 0)
        }
    }

    /// With --uplink-pool6 the daemon (with only its declared capabilities) gives an
    /// egress cell an IPv6 uplink: the allowed IPv6 port connects, the denied one
    /// is dropped, counted under `default` and flow-logged on the cell's NFLOG
    /// socket; a disconnect removes veth and NAT table.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func daemonBuildsIPv6UplinksAndFlowLogsADeniedIPv6Port() throws {
        try withLab { lab in
            let up = try lab.addNamespace("up")
            let net = try lab.addNamespace("net")
            try lab.link(up, "fd00:97::1/64", net, "fd00:97::2/64")
            var listeners: [Int32] = []
            defer { listeners.forEach { _ = close($0) } }
            try lab.inside(net) { for port: UInt16 in [443, 444] { listeners.append(try NetProbe.tcpListener("fd00:97::2", port)) } }
            let daemon = try RunningDaemon(arguments: [
                "--allow-uid", "0", "--uplink-pool", "10.202.0.0/24", "--uplink-pool6", "fd00:ce12::/64", "--uplink-netns", up.path,
            ])
            do {
                var client = try NetnsdClient.connect(path: daemon.socketPath)
                let id = try CellID("v6")
                var reply = try client.request(CreateCell(cellID: id, policy: try EgressPolicy(allow: [try AllowRule(spec: "1,tcp,fd00:97::2,443")])))
                guard case .cellCreated = reply.message else {
                    Issue.record("\(reply.message)")
                    return
                }
                let namespace = reply.descriptors.take(0)
                let nflog = reply.descriptors.take(3)
                let results = try NetworkNamespace.run(in: namespace) {
                    (allowed: NetProbe.tcpConnect("fd00:97::2", 443, timeoutMilliseconds: 3000),
                     denied: NetProbe.tcpConnect("fd00:97::2", 444))
                }
                #expect(results.allowed == 0)
                #expect(results.denied == ETIMEDOUT)
                let peers = try lab.run(in: net, ["ss", "-Htn"]).stdout
                #expect(peers.contains("[fd00:97::2]:443") && peers.contains("[fd00:97::1]:") && !peers.contains("fd00:ce12"), "\(peers)")

                // The denied SYN's NFLOG message: the drop prefix, and the packet's
                // IPv6 destination followed by its TCP header with port 444. The
                // uplink's own IPv6 chatter (MLD, router solicitations) is logged
                // as drops too, so read until that one arrives (bounded).
                let destination = try #require(IPAddress(parsing: "fd00:97::2")).bytes
                var found = false
                let deadline = Monotonic.milliseconds() + 3000
                var datagram = [UInt8](repeating: 0, count: 65_536)
                while !found && Monotonic.milliseconds() < deadline {
                    var ready = pollfd(fd: nflog.rawValue, events: Int16(POLLIN), revents: 0)
                    guard poll(&ready, 1, 500) == 1 else { continue }
                    let length = datagram.withUnsafeMutableBytes { recv(nflog.rawValue, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    let bytes = Array(datagram.prefix(max(0, length)))
                    let text = String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                    guard text.contains("cellos-flow drop default") else { continue }
                    found = bytes.indices.contains { start in
                        start + 20 <= bytes.count && Array(bytes[start..<start + 16]) == destination
                            && bytes[start + 18] == 0x01 && bytes[start + 19] == 0xBC
                    }
                }
                #expect(found, "no NFLOG drop message for the SYN to [fd00:97::2]:444")
                reply = try client.request(ReadCounters(cellID: id))
                guard case .countersReport(let report) = reply.message else {
                    Issue.record("\(reply.message)")
                    return
                }
                let packets = Dictionary(uniqueKeysWithValues: report.entries.map { ($0.label, $0.packets) })
                #expect((1...2).contains(packets["r1"] ?? 0))
                #expect((packets["default"] ?? 0) >= 1)
                #expect(try lab.run(in: up, ["nft", "list", "tables"]).stdout.contains("table inet cellos_uplink_0"))
            }
            let left = try Self.waitForUplinkRemoval(lab, in: up)
            #expect(!left.link)
            #expect(!left.table)
            #expect(daemon.terminate() == 0)
        }
    }

    /// SIGTERM destroys every cell, including an attached one whose namespace
    /// outlives the daemon: its table is gone afterwards.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func sigtermDestroysAllCellsAndRemovesSocket() throws {
        try withLab { lab in
            let foreign = try lab.addNamespace("attach")
            let daemon = try RunningDaemon(arguments: ["--allow-uid", "0"])
            var client = try NetnsdClient.connect(path: daemon.socketPath)
            var descriptors = DescriptorSet()
            descriptors.append(try NetworkNamespace.open(path: foreign.path))
            let reply = try client.request(CreateCell(cellID: try CellID("att"), policy: try Self.policy(), attach: true), descriptors: descriptors)
            guard case .cellCreated = reply.message else {
                Issue.record("attach failed: \(reply.message)")
                return
            }
            #expect(try lab.run(in: foreign, ["nft", "list", "tables"]).stdout.contains("inet cellos"))
            #expect(daemon.terminate() == 0)
            #expect(try lab.run(in: foreign, ["nft", "list", "tables"]).stdout.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
        }
    }
}

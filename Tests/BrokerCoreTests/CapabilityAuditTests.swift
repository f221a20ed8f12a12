@testable import BrokerCore
import CellosTestLab
import Foundation
import Glibc
import HelperRuntime
import Testing

@Suite struct ProcessStatusTests {
    static let sample = """
        Name:\tcellos-dnsproxy
        Umask:\t0022
        State:\tS (sleeping)
        Pid:\t4242
        Uid:\t65534\t65534\t65534\t65534
        Gid:\t65533\t65533\t65533\t65533
        CapInh:\t0000000000000000
        CapPrm:\t0000000000003000
        CapEff:\t0000000000001000
        CapBnd:\t000001ffffffffff
        CapAmb:\t0000000000000000
        NoNewPrivs:\t1
        Seccomp:\t2
        Seccomp_filters:\t1

        """

    @Test func parsesEveryAuditedField() throws {
        let status = try ProcessStatus.parse(Self.sample)
        #expect(status.name == "cellos-dnsproxy")
        #expect(status.uids == [65534, 65534, 65534, 65534] && status.gids == [65533, 65533, 65533, 65533])
        #expect(status.inheritable == 0 && status.permitted == 0x3000 && status.effective == 0x1000 && status.ambient == 0)
        #expect(status.bounding == 0x1ff_ffff_ffff)
        #expect(status.noNewPrivileges && status.seccompMode == 2 && status.seccompDescription == "filter")
    }

    @Test func seccompLineIsOptional() throws {
        let status = try ProcessStatus.parse(Self.sample.replacingOccurrences(of: "Seccomp:\t2\n", with: ""))
        #expect(status.seccompMode == nil && status.seccompDescription == "unsupported")
    }

    @Test(arguments: [
        ("CapEff:\t0000000000001000\n", "", ProcessStatusError.missing("CapEff")),
        ("NoNewPrivs:\t1\n", "", .missing("NoNewPrivs")),
        ("Uid:\t65534\t65534\t65534\t65534\n", "", .missing("Uid")),
        ("CapPrm:\t0000000000003000", "CapPrm:\t00000000000030zz", .malformed(field: "CapPrm", reason: "'00000000000030zz' is not a 64-bit hex mask")),
        ("CapBnd:\t000001ffffffffff", "CapBnd:\t1000001ffffffffff", .malformed(field: "CapBnd", reason: "'1000001ffffffffff' is not a 64-bit hex mask")),
        ("CapAmb:\t0000000000000000", "CapAmb:\t", .malformed(field: "CapAmb", reason: "'' is not a 64-bit hex mask")),
        ("CapInh:\t0000000000000000", "CapInh:\t+000000000000000", .malformed(field: "CapInh", reason: "'+000000000000000' is not a 64-bit hex mask")),
        ("NoNewPrivs:\t1", "NoNewPrivs:\t2", .malformed(field: "NoNewPrivs", reason: "'2' is not in 0-1")),
        ("Seccomp:\t2", "Seccomp:\t3", .malformed(field: "Seccomp", reason: "'3' is not in 0-2")),
        ("Gid:\t65533\t65533\t65533\t65533", "Gid:\t65533\t65533", .malformed(field: "Gid", reason: "expected 4 ids")),
        ("Uid:\t65534\t65534\t65534\t65534", "Uid:\t65534\t-1\t65534\t65534", .malformed(field: "Uid", reason: "expected 4 ids")),
        ("Name:\tcellos-dnsproxy", "CapEff:\t0\nName:\tx", .malformed(field: "CapEff", reason: "appears twice")),
    ])
    func malformedStatusIsRejectedNamingTheField(original: String, replacement: String, error: ProcessStatusError) {
        let text = Self.sample.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.sample)
        #expect(throws: error) { try ProcessStatus.parse(text) }
    }

    @Test func liveStatusOfThisTestProcessMatchesItsIDs() throws {
        let status = try AuditRunner.status(pid: getpid())
        #expect(status.uids[0] == getuid() && status.uids[1] == geteuid())
        #expect(status.gids[0] == getgid() && status.gids[1] == getegid())
        #expect(status.effective & ~status.permitted == 0, "effective is always a subset of permitted")
        #expect(status.ambient & ~status.permitted == 0)
    }

    @Test func unreadableProcessIsReported() {
        #expect(throws: ProcessStatusError.unreadable(path: "/proc/2147483647/status", reason: "No such file or directory")) {
            try AuditRunner.status(pid: Int32.max)
        }
    }
}

@Suite struct CapabilityComparisonTests {
    @Test func namesAndNumbersRoundTrip() {
        for (number, name) in CapabilityNames.table.enumerated() {
            #expect(CapabilityNames.number(of: name) == number)
            #expect(CapabilityNames.number(of: name.lowercased().replacingOccurrences(of: "cap_", with: "")) == number)
        }
        #expect(CapabilityNames.name(of: 12) == "CAP_NET_ADMIN" && CapabilityNames.name(of: 21) == "CAP_SYS_ADMIN")
        #expect(CapabilityNames.name(of: 40) == "CAP_CHECKPOINT_RESTORE" && CapabilityNames.name(of: 50) == "CAP_50")
        #expect(CapabilityNames.names(in: 1 << 10 | 1 << 12 | 1 << 63) == ["CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_63"])
        #expect(CapabilityNames.number(of: "CAP_BOGUS") == nil)
    }

    @Test func declaredSetFromNetnsdFormat() {
        let output = #"{"capabilities":[{"name":"CAP_SYS_ADMIN","number":21,"operation":"unshare"},{"name":"CAP_NET_ADMIN","number":12,"operation":"nft"}],"mask":"0000000000201000"}"# + "\n"
        let declared = DeclaredCapabilities.parse(output: Array(output.utf8))
        #expect(declared == DeclaredCapabilities(mask: 1 << 21 | 1 << 12, note: nil))
    }

    @Test func declaredSetFromNamesOrMaskAlone() {
        #expect(DeclaredCapabilities.parse(output: Array(#"{"capabilities":["net_bind_service"]}"#.utf8)).mask == 1 << 10)
        #expect(DeclaredCapabilities.parse(output: Array(#"{"mask":"0000000000000400"}"#.utf8)).mask == 1 << 10)
        #expect(DeclaredCapabilities.parse(output: Array(#"{"capabilities":[]}"#.utf8)) == DeclaredCapabilities(mask: 0, note: nil))
    }

    @Test(arguments: [
        ("", "printed nothing; treated as declaring none"),
        ("USAGE: helper [--flag]", "printed nothing parseable; treated as declaring none"),
        (#"{"version":"1"}"#, "printed JSON without \"capabilities\" or \"mask\"; treated as declaring none"),
        (#"{"capabilities":["CAP_NOPE", "CAP_KILL"]}"#, "ignored: unknown entry \"CAP_NOPE\""),
    ])
    func unparseableDeclarationsDeclareNoneAndSaySo(output: String, note: String) {
        let declared = DeclaredCapabilities.parse(output: Array(output.utf8))
        #expect(declared.note == note)
        #expect(declared.mask == (output.contains("CAP_KILL") ? 1 << 5 : 0))
    }

    static func status(effective: UInt64 = 0, permitted: UInt64 = 0, inheritable: UInt64 = 0, bounding: UInt64 = 0, ambient: UInt64 = 0, nnp: Bool = false) -> ProcessStatus {
        ProcessStatus(
            name: "x", inheritable: inheritable, permitted: permitted, effective: effective, bounding: bounding, ambient: ambient,
            noNewPrivileges: nnp, seccompMode: 0, uids: [0, 0, 0, 0], gids: [0, 0, 0, 0])
    }

    @Test func excessIsReportedPerSet() {
        let declared = DeclaredCapabilities(mask: 1 << 12)
        let audit = CapabilityAudit(
            helper: "h", declared: declared, pid: 1,
            status: Self.status(effective: 1 << 12, permitted: 1 << 12 | 1 << 21, inheritable: 1 << 5, bounding: 1 << 12 | 1 << 0, ambient: 1 << 5))
        #expect(audit.excess == [
            .init(set: "permitted", capabilities: ["CAP_SYS_ADMIN"]),
            .init(set: "inheritable", capabilities: ["CAP_KILL"]),
            .init(set: "ambient", capabilities: ["CAP_KILL"]),
            .init(set: "bounding", capabilities: ["CAP_CHOWN"]),
        ])
        #expect(audit.holdsMoreThanDeclared)
    }

    @Test func exactlyTheDeclaredSetPasses() {
        let mask: UInt64 = 1 << 21 | 1 << 12 | 1 << 10
        let audit = CapabilityAudit(helper: "h", declared: DeclaredCapabilities(mask: mask), pid: 1, status: Self.status(effective: mask, permitted: mask, bounding: mask))
        #expect(!audit.holdsMoreThanDeclared && audit.excess.isEmpty)
    }

    @Test func boundingSetCountsOnlyWithoutNoNewPrivs() {
        let declared = DeclaredCapabilities(mask: 0)
        let withNNP = CapabilityAudit(helper: "h", declared: declared, pid: 1, status: Self.status(bounding: 0x1ff_ffff_ffff, nnp: true))
        let withoutNNP = CapabilityAudit(helper: "h", declared: declared, pid: 1, status: Self.status(bounding: 1 << 7, nnp: false))
        #expect(!withNNP.holdsMoreThanDeclared)
        #expect(withoutNNP.excess == [.init(set: "bounding", capabilities: ["CAP_SETUID"])])
    }

    @Test func notInspectedHelpersDoNotFail() {
        let audit = CapabilityAudit(helper: "h", declared: DeclaredCapabilities(mask: 0), statusNote: "not running")
        #expect(!audit.holdsMoreThanDeclared)
        #expect(AuditReport.table([audit]).contains("h: NOT INSPECTED"))
    }

    @Test func jsonReportCarriesEveryField() throws {
        let audit = CapabilityAudit(helper: "h", declared: DeclaredCapabilities(mask: 0, note: "n"), pid: 7, status: Self.status(effective: 1 << 12, permitted: 1 << 12, nnp: true))
        let report = try #require(AuditReport.json([audit]).objectValue)
        #expect(report["passed"] == .bool(false))
        guard case .array(let helpers)? = report["helpers"], let entry = helpers.first?.objectValue else { Issue.record("no helpers"); return }
        #expect(entry["pid"] == .integer(7) && entry["declared_note"] == .string("n") && entry["no_new_privs"] == .bool(true))
        #expect(entry["seccomp"] == .string("disabled") && entry["uid"] == .array([.integer(0), .integer(0), .integer(0), .integer(0)]))
        #expect(entry["held"]?.objectValue?["effective"] == .object(["mask": .string("0000000000001000"), "names": .array([.string("CAP_NET_ADMIN")])]))
    }
}

/// Live checks against real processes started under `setpriv` (needs root to
/// shape capability sets).
@Suite(.serialized) struct LiveCapabilityAuditTests {
    /// Starts `setpriv ARGS -- sleep 30`, waits until `sleep` runs, hands its pid to
    /// `body`, and kills it afterwards (also when `body` throws).
    static func withConfinedChild(_ setprivArguments: [String], _ body: (Int32) throws -> Void) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = setprivArguments + ["--", "/bin/sleep", "30"]
        try process.run()
        defer {
            // SIGKILL: the test runner's blocked-signal mask is inherited, so SIGTERM may never land.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let pid = process.processIdentifier
        for _ in 0..<200 {
            if (try? AuditRunner.status(pid: pid).name) == "sleep" { break }
            usleep(10_000)
        }
        #expect(try AuditRunner.status(pid: pid).name == "sleep")
        try body(pid)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func childWithOneCapabilityHoldsExactlyThat() throws {
        try PrivilegedTest.requireRoot()
        try Self.withConfinedChild(["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all,+net_bind_service"]) { pid in
            let status = try AuditRunner.status(pid: pid)
            #expect(status.bounding == 1 << 10 && status.effective == 1 << 10 && status.permitted == 1 << 10)
            #expect(status.inheritable == 0 && status.ambient == 0 && !status.noNewPrivileges)
            let undeclared = CapabilityAudit(helper: "h", declared: DeclaredCapabilities(mask: 0), pid: pid, status: status)
            #expect(undeclared.excess.map(\.set) == ["effective", "permitted", "bounding"])
            let declared = CapabilityAudit(helper: "h", declared: DeclaredCapabilities(mask: 1 << 10), pid: pid, status: status)
            #expect(!declared.holdsMoreThanDeclared)
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func unprivilegedChildWithNoNewPrivsPasses() throws {
        try PrivilegedTest.requireRoot()
        try Self.withConfinedChild(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--no-new-privs"]) { pid in
            let status = try AuditRunner.status(pid: pid)
            #expect(status.uids == [65534, 65534, 65534, 65534] && status.gids == [65534, 65534, 65534, 65534])
            #expect(status.effective == 0 && status.permitted == 0 && status.ambient == 0 && status.noNewPrivileges)
            #expect(status.bounding != 0)
            #expect(!CapabilityAudit(helper: "h", declared: DeclaredCapabilities(mask: 0), pid: pid, status: status).holdsMoreThanDeclared)
            // An ordinary process of a non-root uid is dumpable, and the audit says so.
            #expect(AuditRunner.inspect(helper: "h", declared: DeclaredCapabilities(mask: 0), pid: pid).dumpable == true)
        }
    }

    /// The whole `cellos-broker audit` command against fake helpers in a directory:
    /// one declaring CAP_NET_BIND_SERVICE like netnsd does, one printing garbage.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func auditCommandExitsNonZeroOnlyForExcess() throws {
        try PrivilegedTest.requireRoot()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let scripts = [
            "cellos-netnsd": #"echo '{"capabilities":[{"name":"CAP_NET_BIND_SERVICE","number":10}],"mask":"0000000000000400"}'"#,
            "cellos-dnsproxy": "echo 'Error: Unknown option' >&2; exit 64",
        ]
        for (name, body) in scripts {
            let path = directory.appendingPathComponent(name).path
            try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        let broker = try BuiltProducts.path(of: "cellos-broker")
        try Self.withConfinedChild(["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all,+net_bind_service"]) { pid in
            let pass = try Shell.run([broker, "audit", "--helpers-dir", directory.path, "--pid", "cellos-netnsd=\(pid)", "--json"])
            #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
            let report = try JSONParser.parse(pass.stdout.trimmingCharacters(in: .newlines)).objectValue
            #expect(report?["passed"] == .bool(true))

            let fail = try Shell.run([broker, "audit", "--helpers-dir", directory.path, "--pid", "cellos-dnsproxy=\(pid)"])
            #expect(fail.status == 1)
            #expect(fail.stdout.contains("cellos-dnsproxy (pid \(pid)): FAIL"))
            #expect(fail.stdout.contains("--print-capabilities exited 64 (Error: Unknown option); treated as declaring none"))
            #expect(fail.stdout.contains("EXCESS        effective: CAP_NET_BIND_SERVICE"))
        }
    }

    /// `audit --start`: a fake cellos-netnsd that supports the inspectable mode
    /// (control socket path in the broker's private directory, READY=1, waits),
    /// confining itself with setpriv to one capability before reporting ready.
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func startModeInspectsAReadyInstanceAndCleansUp() throws {
        try PrivilegedTest.requireRoot()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("audit-start-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let record = directory.appendingPathComponent("socket-path").path
        func install(declaring declared: String) throws {
            let script = """
                #!/bin/sh
                if [ "$1" = --print-capabilities ]; then echo '{"capabilities":["\(declared)"]}'; exit 0; fi
                [ "$1" = --socket ] && [ "$3" = --allow-uid ] || exit 64
                : > "$2"; echo "$2" > \(record)
                exec /usr/bin/setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all,+net_admin -- /bin/sh -c 'trap "exit 0" TERM; printf "READY=1\\n" >&"$CELLOS_NOTIFY_FD"; while :; do sleep 0.05; done'
                """
            let path = directory.appendingPathComponent("cellos-netnsd").path
            unlink(path)
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        let broker = try BuiltProducts.path(of: "cellos-broker")

        try install(declaring: "CAP_NET_ADMIN")
        let pass = try Shell.run([broker, "audit", "--start", "--helpers-dir", directory.path])
        #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
        #expect(pass.stdout.contains("effective     CAP_NET_ADMIN"))
        let socketPath = try String(contentsOfFile: record, encoding: .utf8).trimmingCharacters(in: .newlines)
        #expect(socketPath.hasPrefix("/tmp/cellos-broker-") && socketPath.hasSuffix("/control"))
        #expect(!FileManager.default.fileExists(atPath: String(socketPath.dropLast("/control".count))), "private directory left behind")

        try install(declaring: "CAP_NET_BIND_SERVICE")
        let fail = try Shell.run([broker, "audit", "--start", "--helpers-dir", directory.path, "--json"])
        #expect(fail.status == 1)
        let report = try #require(try JSONParser.parse(fail.stdout.trimmingCharacters(in: .newlines)).objectValue)
        #expect(report["passed"] == .bool(false))
        guard case .array(let helpers)? = report["helpers"], let entry = helpers.first?.objectValue else {
            Issue.record("no helper in \(fail.stdout)")
            return
        }
        #expect(entry["excess"] == .array([
            .object(["set": .string("effective"), "capabilities": .array([.string("CAP_NET_ADMIN")])]),
            .object(["set": .string("permitted"), "capabilities": .array([.string("CAP_NET_ADMIN")])]),
            .object(["set": .string("bounding"), "capabilities": .array([.string("CAP_NET_ADMIN")])]),
        ]))
    }
}

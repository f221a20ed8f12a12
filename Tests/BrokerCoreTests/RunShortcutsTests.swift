@testable import BrokerCore
import Testing

@Suite struct RunShortcutsTests {
    static let base = CellSpec.defaults(id: "s", argv: [])

    @Test func shortcutsBuildTheSameModelAsASpec() throws {
        let shortcuts = RunShortcuts(
            allowNames: ["*.example.com", "api.test"], allowEgress: ["tcp:10.1.2.3:443", "udp:10.0.0.0/8:53"],
            timeout: "30s", id: "quick", argv: ["sh", "-c", "echo hi"])
        let fromFlags = try shortcuts.apply(to: Self.base)
        let fromSpec = try CellSpecDecoder.decode(Array("""
            {"version": 1, "id": "quick", "argv": ["sh", "-c", "echo hi"], "timeout": "30s",
             "dns": {"allow": ["*.example.com", "api.test"]},
             "egress": [{"protocol": "tcp", "address": "10.1.2.3", "port": 443}, {"protocol": "udp", "address": "10.0.0.0/8", "port": 53}]}
            """.utf8))
        #expect(fromFlags == fromSpec)
    }

    @Test(arguments: [
        ("tcp:10.1.2.3:443", "tcp:10.1.2.3:443"),
        ("tcp:10.1.2.3", "tcp:10.1.2.3"),
        ("udp:10.0.0.0/8:8000-8100", "udp:10.0.0.0/8:8000-8100"),
        ("icmp:192.0.2.1", "icmp:192.0.2.1"),
        ("tcp:[2001:db8::1]:443", "tcp:[2001:db8::1]:443"),
        ("tcp:[2001:DB8::/32]", "tcp:[2001:db8::/32]"),
        ("udp:[2001:db8::/32]:53", "udp:[2001:db8::/32]:53"),
        ("icmp:[::1]", "icmp:[::1]"),
    ])
    func egressShortcutParses(text: String, normalized: String) throws {
        #expect(try RunShortcuts.egressRule(text).description == normalized)
    }

    @Test(arguments: [
        ("10.1.2.3:443", "--allow-egress: \"10.1.2.3:443\" does not start with a protocol (tcp, udp or icmp)"),
        ("tcp", "--allow-egress: \"tcp\" is not PROTO:ADDR[:PORT] (e.g. tcp:10.1.2.3:443)"),
        ("sctp:10.1.2.3:1", "--allow-egress: \"sctp:10.1.2.3:1\" does not start with a protocol (tcp, udp or icmp)"),
        ("tcp:10.1.2.3:70000", "--allow-egress: \"tcp:10.1.2.3:70000\" is not a port (1-65535)"),
        ("tcp:10.1.2.3:9-8", "--allow-egress: \"tcp:10.1.2.3:9-8\" is an empty port range (9 > 8)"),
        ("tcp:10.1.2.3:", "--allow-egress: \"tcp:10.1.2.3:\" is not a port or port range (1-65535, or FIRST-LAST)"),
        ("icmp:10.1.2.3:1", "--allow-egress: \"icmp:10.1.2.3:1\" gives a port, but icmp has no ports"),
        ("tcp:2001:db8::1:443", "--allow-egress: \"tcp:2001:db8::1:443\" has an IPv6 address without brackets (write [ADDR]:PORT)"),
        ("tcp:[2001:db8::1:443", "--allow-egress: \"tcp:[2001:db8::1:443\" has an unclosed '[' (write [IPv6]:PORT)"),
        ("tcp:[::1]443", "--allow-egress: \"tcp:[::1]443\" has text after ']' that is not :PORT"),
        ("tcp:host.test:443", "--allow-egress: \"tcp:host.test:443\" is not an IPv4 or IPv6 address or CIDR network"),
        ("tcp:10.1.2.3/24:443", "--allow-egress: \"tcp:10.1.2.3/24:443\" has host bits set beyond /24 (the network is 10.1.2.0/24)"),
    ])
    func egressShortcutErrorsNameTheFlag(text: String, message: String) {
        #expect(throws: SpecError.self) { try RunShortcuts.egressRule(text) }
        do { _ = try RunShortcuts.egressRule(text) } catch { #expect(error.description == message) }
    }

    @Test(arguments: [("500ms", 500), ("30s", 30_000), ("2m", 120_000), ("1h", 3_600_000), ("45", 45_000)] as [(String, Int64)])
    func timeoutUnits(text: String, milliseconds: Int64) throws {
        let spec = try RunShortcuts(timeout: text, argv: ["x"]).apply(to: Self.base)
        #expect(spec.timeout.milliseconds == milliseconds)
    }

    @Test(arguments: [
        (RunShortcuts(timeout: "30sec", argv: ["x"]), "--timeout: \"30sec\" is not a duration (a whole number with ms, s, m or h, e.g. 30s)"),
        (RunShortcuts(timeout: "-1s", argv: ["x"]), "--timeout: \"-1s\" is not a duration (a whole number with ms, s, m or h, e.g. 30s)"),
        (RunShortcuts(timeout: "0ms", argv: ["x"]), "--timeout: \"0ms\" must be longer than 0"),
        (RunShortcuts(allowNames: ["*.*.test"], argv: ["x"]), "--allow-name: \"*.*.test\" is not a DNS name or '*.suffix' pattern (labels of 1-63 letters, digits, '-' or '_'; '*' only as the whole first label)"),
        (RunShortcuts(id: "has space", argv: ["x"]), "--id: \"has space\" is not a cell id (1-64 characters from A-Z, a-z, 0-9, '_' and '-')"),
        (RunShortcuts(), "-- ARGV: is missing: give the command after '--' or a spec with argv"),
        (RunShortcuts(argv: [""]), "-- ARGV: \"\" is empty (the program to run)"),
        (RunShortcuts(mounts: ["/tmp"], argv: ["x"]), "--mount: \"/tmp\" is not SRC:DST[:rw] (e.g. /srv/data:/data or /srv/out:/out:rw)"),
        (RunShortcuts(mounts: ["/tmp:/t:rx"], argv: ["x"]), "--mount: \"/tmp:/t:rx\" is not SRC:DST[:rw] (e.g. /srv/data:/data or /srv/out:/out:rw)"),
        (RunShortcuts(mounts: ["tmp:/t"], argv: ["x"]), "--mount: \"tmp:/t\" is not an absolute path"),
        (RunShortcuts(mounts: ["/nonexistent-cellos-source:/t"], argv: ["x"]), "--mount: \"/nonexistent-cellos-source:/t\" does not exist (No such file or directory)"),
        (RunShortcuts(mounts: ["/tmp:/"], argv: ["x"]), "--mount: \"/tmp:/\" is the root: a mount cannot replace the whole view"),
        (RunShortcuts(mounts: ["/tmp:/a/../b"], argv: ["x"]), "--mount: \"/tmp:/a/../b\" has a '..' component"),
        (RunShortcuts(mounts: ["/tmp:/t", "/etc:/t"], argv: ["x"]), "--mount: \"/t\" is the target of an earlier mount"),
        (RunShortcuts(mounts: ["/tmp:/workspace:rw"], argv: ["x"]), "--mount: \"/workspace\" is the workspace (set workspace to null to mount there)"),
    ])
    func shortcutErrors(shortcuts: RunShortcuts, message: String) {
        do {
            _ = try shortcuts.apply(to: Self.base)
            Issue.record("accepted \(shortcuts)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func shortcutsAddToASpecAndArgvReplacesIt() throws {
        var base = DemoSpec.spec()
        base.argv = ["/bin/false"]
        let spec = try RunShortcuts(allowNames: ["more.test"], allowEgress: ["icmp:192.0.2.9"], argv: ["/bin/true"]).apply(to: base)
        #expect(spec.dns.allow.map(\.description) == ["allowed.cellos.test", "more.test"])
        #expect(spec.egress.map(\.description) == ["tcp:192.0.2.80:8080", "icmp:192.0.2.9"])
        #expect(spec.argv == ["/bin/true"])
        let kept = try RunShortcuts().apply(to: base)
        #expect(kept.argv == ["/bin/false"])
        #expect(kept.pidNamespace && kept.mounts.isEmpty)
    }

    /// `--mount` adds read-only mounts unless `:rw`; `--no-pid-namespace` is the opt-out.
    @Test func mountAndPIDNamespaceShortcuts() throws {
        var base = DemoSpec.spec()
        base.mounts = [SpecMount(source: "/usr", target: "/opt/usr", writable: false)]
        let spec = try RunShortcuts(mounts: ["/etc:/host/etc", "/tmp:/out:rw", "/tmp:/in:ro"], noPIDNamespace: true).apply(to: base)
        #expect(spec.mounts.map(\.description) == ["/usr:/opt/usr:ro", "/etc:/host/etc:ro", "/tmp:/out:rw", "/tmp:/in:ro"])
        #expect(!spec.pidNamespace)
    }
}

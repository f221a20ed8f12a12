@testable import BrokerCore
import CellosTestLab
import Foundation
import Testing

/// The broker's privilege drop runs in a fresh `cellos-broker self-check` process
/// (it is irreversible, and capabilities are per thread).
@Suite struct PrivilegeDropTests {
    @Test(arguments: [
        ("65534:65534", PrivilegeDrop.Identity(uid: 65534, gid: 65534)),
        ("1000:100", PrivilegeDrop.Identity(uid: 1000, gid: 100)),
        // Names from the user and group databases (Debian's nobody and nogroup).
        ("nobody", PrivilegeDrop.Identity(uid: 65534, gid: 65534)),
        ("nobody:nogroup", PrivilegeDrop.Identity(uid: 65534, gid: 65534)),
        ("1000:nogroup", PrivilegeDrop.Identity(uid: 1000, gid: 65534)),
    ])
    func userParses(text: String, identity: PrivilegeDrop.Identity) throws {
        #expect(try PrivilegeDrop.Identity.parse(text) == identity)
    }

    @Test(arguments: [
        ("0:0", "--user: \"0:0\" names root; the broker never runs as root"),
        ("root", "--user: \"root\" names root; the broker never runs as root"),
        ("no-such-user-cellos", "--user: \"no-such-user-cellos\" is not usable: no user 'no-such-user-cellos' in the user database"),
        ("nobody:no-such-group-cellos", "--user: \"nobody:no-such-group-cellos\" is not usable: no group 'no-such-group-cellos' in the group database"),
        ("65534", "--user: \"65534\" is not usable: '65534' is a uid without a group: give UID:GID"),
        ("1000:", "--user: \"1000:\" is not usable: '1000:' is not USER, USER:GROUP or UID:GID"),
        ("4294967295:1", "--user: \"4294967295:1\" is not usable: '4294967295' is not a valid id (0-4294967294)"),
    ])
    func badUserIsRefused(text: String, message: String) {
        #expect(throws: SpecError.self) { try PrivilegeDrop.Identity.parse(text) }
        do { _ = try PrivilegeDrop.Identity.parse(text) } catch { #expect(error.description == message) }
    }

    static func selfCheck(_ prefix: [String], _ arguments: [String]) throws -> (status: Int32, report: [String: JSONValue]) {
        let result = try Shell.run(prefix + [try BuiltProducts.path(of: "cellos-broker"), "self-check", "--json"] + arguments)
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        let report = try #require(try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines)).objectValue)
        guard case .array(let helpers)? = report["helpers"], let entry = helpers.first?.objectValue else {
            Issue.record("no entry in \(result.stdout)")
            return (result.status, [:])
        }
        return (result.status, entry)
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func rootBrokerBecomesItsUserWithNoCapabilityLeft() throws {
        try PrivilegedTest.requireRoot()
        let (status, entry) = try Self.selfCheck([], ["--user", "4242:4343"])
        #expect(status == 0)
        #expect(entry["uid"] == .array(Array(repeating: .integer(4242), count: 4)))
        #expect(entry["gid"] == .array(Array(repeating: .integer(4343), count: 4)))
        #expect(entry["no_new_privs"] == .bool(true))
        #expect(entry["seccomp"] == .string("filter"), "the broker loads the baseline denylist")
        let held = try #require(entry["held"]?.objectValue)
        for set in ["effective", "permitted", "inheritable", "bounding", "ambient"] {
            #expect(held[set]?.objectValue?["mask"] == .string("0000000000000000"), "\(set)")
        }
    }

    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func rootBrokerDefaultsToNobody() throws {
        try PrivilegedTest.requireRoot()
        let (status, entry) = try Self.selfCheck([], [])
        #expect(status == 0)
        #expect(entry["uid"] == .array(Array(repeating: .integer(65534), count: 4)))
    }

    /// Started as another user, it stays that user (and ignores --user).
    @Test(.enabled(if: PrivilegedTest.shouldRun))
    func unprivilegedBrokerKeepsItsUser() throws {
        try PrivilegedTest.requireRoot()
        let (status, entry) = try Self.selfCheck(["/usr/bin/setpriv", "--reuid=1234", "--regid=1234", "--clear-groups", "--inh-caps=-all"], [])
        #expect(status == 0)
        #expect(entry["uid"] == .array(Array(repeating: .integer(1234), count: 4)))
        #expect(entry["no_new_privs"] == .bool(true))
        #expect(entry["seccomp"] == .string("filter"))
        #expect(entry["held"]?.objectValue?["effective"]?.objectValue?["mask"] == .string("0000000000000000"))
    }
}

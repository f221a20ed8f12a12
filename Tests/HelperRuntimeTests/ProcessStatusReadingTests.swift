import Foundation
import HelperRuntime
import Testing

/// The status parser's field-by-field strictness is covered in BrokerCoreTests
/// (ProcessStatusTests); these cover what the helpers use it for.
@Suite struct ProcessStatusReadingTests {
    static let sample = """
        Name:\tx
        Uid:\t65534\t65534\t65534\t65534
        Gid:\t65534\t65534\t65534\t65534
        CapInh:\t0000000000000000
        CapPrm:\t000001ffffffffff
        CapEff:\t0000000000001000
        CapBnd:\t000001ffffffffff
        CapAmb:\t0000000000000000
        NoNewPrivs:\t0

        """

    @Test func effectiveBitsAreQueriedByNumber() throws {
        let status = try ProcessStatus.parse(Self.sample)
        #expect(status.permitted == 0x1ff_ffff_ffff && status.effective == 0x1000)
        #expect(status.hasEffective(12))
        #expect(!status.hasEffective(21))
        #expect(!status.hasEffective(64) && !status.hasEffective(-1))
        #expect(throws: ProcessStatusError.malformed(field: "CapEff", reason: "'zz' is not a 64-bit hex mask")) {
            try ProcessStatus.parse(Self.sample.replacingOccurrences(of: "CapEff:\t0000000000001000", with: "CapEff:\tzz"))
        }
    }

    @Test func thisProcessAndThreadAreReadable() throws {
        let process = try ProcessStatus.ofThisProcess()
        let thread = try ProcessStatus.ofThisThread()
        #expect(process.uids[1] == geteuid())
        #expect(thread.uids[1] == geteuid())
        #expect(throws: ProcessStatusError.unreadable(path: "/proc/2147483647/status", reason: "No such file or directory")) {
            try ProcessStatus.read(pid: Int32.max)
        }
    }

    @Test func threadCountSeesTheThreadsOfThisProcess() throws {
        let before = try ProcessThreads.count()
        #expect(before >= 1)
        let started = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        let thread = Thread {
            started.signal()
            finish.wait()
        }
        thread.start()
        started.wait()
        #expect(try ProcessThreads.count() >= 2)
        finish.signal()
    }
}

@Suite struct CapabilityRefusalTests {
    func status(effective: UInt64, permitted: UInt64) throws -> ProcessStatus {
        var status = try ProcessStatus.parse(ProcessStatusReadingTests.sample)
        status.effective = effective
        status.permitted = permitted
        return status
    }

    @Test func anyEffectiveOrPermittedCapabilityIsRefusedUnlessAllowed() throws {
        // Permitted alone counts: it could be raised to effective at any time.
        #expect(throws: CapabilityRefusalError.holdsCapabilities(effective: 0, permitted: 0x3000)) {
            try CapabilityRefusal.check(try status(effective: 0, permitted: 0x3000), allowed: false)
        }
        #expect(throws: CapabilityRefusalError.holdsCapabilities(effective: 0x1000, permitted: 0)) {
            try CapabilityRefusal.check(try status(effective: 0x1000, permitted: 0), allowed: false)
        }
        try CapabilityRefusal.check(try status(effective: 0x1000, permitted: 0x3000), allowed: true)
        try CapabilityRefusal.check(try status(effective: 0, permitted: 0), allowed: false)
    }

    @Test func theRefusalNamesTheSetsAndTheWayOut() {
        let text = CapabilityRefusalError.holdsCapabilities(effective: 0x1000, permitted: 0x3000).description
        #expect(text.contains("refusing to run with capabilities"))
        #expect(text.contains("CapEff=0000000000001000 CapPrm=0000000000003000"))
        #expect(text.contains("--allow-capabilities"))
    }

    @Test func thisProcessIsCheckedAgainstItsOwnStatus() throws {
        let held = try ProcessStatus.ofThisProcess()
        if held.effective == 0 && held.permitted == 0 {
            try CapabilityRefusal.enforce(allowed: false)
        } else {
            #expect(throws: CapabilityRefusalError.holdsCapabilities(effective: held.effective, permitted: held.permitted)) {
                try CapabilityRefusal.enforce(allowed: false)
            }
        }
        try CapabilityRefusal.enforce(allowed: true)
    }
}

@Suite struct CapabilityDeclarationTests {
    @Test func aHelperThatNeedsNothingDeclaresAnEmptySet() {
        #expect(CapabilityDeclaration.json([]) == #"{"capabilities":[],"mask":"0000000000000000"}"#)
    }

    @Test func entriesCarryNameNumberOperationAndTheMask() throws {
        let json = CapabilityDeclaration.json([
            .init(name: "CAP_KILL", number: 5, operation: "kill(2) \"another\" uid\n"),
            .init(name: "CAP_NET_ADMIN", number: 12, operation: "nft"),
        ])
        #expect(json == #"{"capabilities":[{"name":"CAP_KILL","number":5,"operation":"kill(2) \"another\" uid\n"},"#
            + #"{"name":"CAP_NET_ADMIN","number":12,"operation":"nft"}],"mask":"0000000000001020"}"#)
        let object = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["mask"] as? String == CapabilityMask.hex(1 << 5 | 1 << 12))
    }
}

@Suite struct SignalWatchTests {
    /// On a thread of its own: the watch blocks its signals in the creating thread,
    /// and a thread-directed signal is then read from the descriptor, not delivered.
    @Test func aBlockedSignalIsReadFromTheDescriptor() {
        final class Outcome: @unchecked Sendable { var signals: [Int32] = [], afterwards: Int32? = -1, error = "" }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            do {
                let watch = try SignalWatch([SIGUSR2])
                pthread_kill(pthread_self(), SIGUSR2)
                outcome.signals = try watch.pending()
                outcome.afterwards = try watch.next()
            } catch {
                outcome.error = "\(error)"
            }
        }
        thread.start()
        done.wait()
        #expect(outcome.error == "")
        #expect(outcome.signals == [SIGUSR2])
        #expect(outcome.afterwards == nil)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// The workload reaper threads: one per workload waits for it, records the exit
/// (through `CellSlot.transition`) and reports it.
extension NetnsdSession {
    /// The workload's ids go back to `identities` once it is reaped, before
    /// WorkloadExited is sent. Called with the lock held.
    func startReaper(for workload: any BackendWorkload, identity: WorkloadIdentity, cell id: CellID) {
        let sink = configuration.exitSink
        let identities = configuration.identities
        liveReapers += 1
        do {
            try DetachedThread.start { [self] in
                let outcome = workload.waitForExit()
                let nothingLeft = Self.clearAfterReap(workload, identity: identity, identities: identities)
                lock.lock()
                if let slot = slots[id], slot.workload === workload {
                    slot.transition(to: .workload(.exited))
                    slot.workload = nil
                    // Nothing in the cell can send any more: flush and end its flow
                    // log before the client learns of the exit, so the flow log
                    // reader has everything once WorkloadExited arrives. (With
                    // processes possibly left, the log stays open: their packets
                    // must still be logged.)
                    if nothingLeft, let cell = slot.cell {
                        do { try cell.endFlowLog() } catch {
                            NetnsdLog.write("cell \(id): ending the flow log: \(error)", priority: .warning)
                        }
                    }
                }
                liveReapers -= 1
                lock.unlock()
                sink?(WorkloadExited(
                    cellID: id, exitCode: outcome.exitCode, signal: outcome.signal, userMicroseconds: outcome.userMicroseconds,
                    systemMicroseconds: outcome.systemMicroseconds, maxResidentKilobytes: outcome.maxResidentKilobytes))
            }
        } catch {
            // Without a reaper the child would stay a zombie: end it and reap here.
            NetnsdLog.write("cannot start a reaper thread: \(error); killing workload \(workload.pid)", priority: .error)
            liveReapers -= 1
            workload.killAll()
            try? workload.signal(SIGKILL)
            _ = workload.waitForExit()
            Self.clearAfterReap(workload, identity: identity, identities: identities)
        }
    }

    /// After `workload` is reaped: whatever it left in its cgroup is killed and the
    /// leaves removed, and its ids go back (held back unless nothing it forked can
    /// remain). Returns whether nothing can remain.
    @discardableResult
    private static func clearAfterReap(_ workload: any BackendWorkload, identity: WorkloadIdentity, identities: WorkloadIdentities) -> Bool {
        let nothingLeft = workload.clearAfterReap()
        identity.release(to: identities, processesMayRemain: !nothingLeft)
        return nothingLeft
    }

    /// Waits until every workload reaper has removed its cgroups (after
    /// `destroyAll`, so a closing connection or a stopping daemon leaves no leaf
    /// behind); false if some are still busy after `timeoutMilliseconds`.
    @discardableResult
    public func waitForReapers(timeoutMilliseconds: Int = 4000) -> Bool {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        while true {
            lock.lock()
            let live = liveReapers
            lock.unlock()
            if live == 0 { return true }
            if Monotonic.milliseconds() >= deadline { return false }
            usleep(5_000)
        }
    }
}

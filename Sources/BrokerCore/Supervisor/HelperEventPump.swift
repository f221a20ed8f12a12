/// Moves a supervised helper's event lines into the cell's event stream: each
/// line wrapped and stamped (`HelperEventWrapper`), written (and signed) by the
/// `EventWriter`. A helper that ends while the cell still needs it produces a
/// `helper.v1.failed` event; the caller then tears the cell down (a cell never
/// runs on silently without its DNS policy or flow log).
public struct HelperEventPump {
    public let supervisor: HelperSupervisor
    public let wrapper: HelperEventWrapper
    public let writer: EventWriter
    public let events: CellEvents

    public init(supervisor: HelperSupervisor, stamper: EventStamper, writer: EventWriter) {
        self.supervisor = supervisor
        wrapper = HelperEventWrapper(helper: supervisor.name, stamper: stamper)
        self.writer = writer
        events = CellEvents(stamper: stamper)
    }

    /// Forwards what arrived within `timeoutMilliseconds`. Returns the helper's
    /// exit if it died, after writing the failure event.
    public func pump(timeoutMilliseconds: Int) throws -> HelperExit? {
        try forward(supervisor.readLines(timeoutMilliseconds: timeoutMilliseconds))
        guard let exit = supervisor.exitIfEnded() else { return nil }
        try forward(supervisor.stop(graceMilliseconds: 0).lines)
        try writer.write(events.helperFailed(helper: supervisor.name, reason: "ended while the cell was running: \(exit)", exit: exit))
        return exit
    }

    /// Stops the helper at the end of the cell and forwards its last lines (its
    /// final stats among them).
    public func finish(graceMilliseconds: Int) throws -> HelperExit {
        let (exit, lines) = supervisor.stop(graceMilliseconds: graceMilliseconds)
        try forward(lines)
        return exit
    }

    private func forward(_ lines: [[UInt8]]) throws {
        for line in lines { try writer.write(wrapper.wrap(line: line)) }
    }
}

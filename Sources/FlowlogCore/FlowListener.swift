#if canImport(Glibc)
import Glibc
#endif
import HelperRuntime
import IPCWire

/// The receive loop: NFLOG datagrams in, JSON lines out, stats and flow summary
/// on SIGUSR1 and at the end. SIGTERM/SIGINT end the loop after a final drain.
public struct FlowListener: ~Copyable {
    public let cellID: String
    private let socket: OwnedFD
    private var output: EventWriter
    public private(set) var decoder: FlowDecoder
    private let buffer: UnsafeMutableRawBufferPointer
    /// Datagrams read per wake-up before flushing events and checking signals.
    static let batch = 256

    public init(socket: consuming OwnedFD, output: consuming EventWriter, cellID: String, prefix: String) {
        self.socket = socket
        self.output = output
        self.cellID = cellID
        decoder = FlowDecoder(prefix: prefix)
        // The kernel batches up to NFULA_CFG_NLBUFSIZ per datagram; a single large
        // packet can exceed it, so leave room for a full 64 KiB copy plus headers.
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    }

    deinit { buffer.deallocate() }

    public var stats: FlowlogStats { decoder.stats }

    /// Runs until SIGTERM or SIGINT arrives on `signals`; then drains what is
    /// queued and writes the final summary and stats.
    public mutating func run(signals: borrowing SignalWatch) throws(SystemCallError) {
        while true {
            var pollers = [
                pollfd(fd: socket.rawValue, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals.fd.rawValue, events: Int16(POLLIN), revents: 0),
            ]
            try systemCall("poll") { poll(&pollers, 2, -1) }
            if pollers[0].revents != 0 { _ = try drain() }
            if pollers[1].revents != 0 {
                var stop = false
                for signal in try signals.pending() {
                    if signal == SIGUSR1 { report() } else { stop = true }
                }
                if stop {
                    // A log netnsd ended is complete once the socket is empty;
                    // otherwise the kernel may still hold a partial batch.
                    try drainTail(milliseconds: decoder.logEnded ? 0 : NflogSocketConfiguration.finalDrainMilliseconds)
                    report()
                    return
                }
            }
        }
    }

    /// Drains the socket, then keeps draining for `milliseconds`: the kernel holds
    /// a partial batch until its flush timeout, so a packet logged right before the
    /// stop (the workload's last connection) arrives only then.
    mutating func drainTail(milliseconds: Int) throws(SystemCallError) {
        while try !drain() {}
        let deadline = Monotonic.milliseconds() + Int64(milliseconds)
        while case let left = deadline - Monotonic.milliseconds(), left > 0 {
            let ready: Int16
            do { ready = try socket.poll(timeoutMilliseconds: Int(left)) } catch { throw SystemCallError("poll", errno: error.errno) }
            if ready != 0 { while try !drain() {} }
        }
    }

    /// Reads what is queued (at most `batch` datagrams) and writes the events.
    /// Returns whether the socket was emptied.
    @discardableResult
    public mutating func drain() throws(SystemCallError) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let receivedAt = WallTime(seconds: Int64(now.tv_sec), microseconds: Int32(now.tv_nsec / 1000))
        var times = (time: receivedAt, text: receivedAt.rfc3339)
        for _ in 0..<Self.batch {
            switch try NflogSocket.receive(socket, into: buffer) {
            case .empty:
                flushEvents()
                return true
            case .kernelDropped:
                decoder.stats.kernelDrops += 1
            case .truncated:
                decoder.stats.datagrams += 1
                decoder.stats.decodeFailures += 1
            case .datagram(let count):
                let cell = cellID
                var lines: [JSONLine] = []
                decoder.process(datagram: UnsafeRawBufferPointer(rebasing: buffer[..<count]), receivedAt: receivedAt) { event in
                    // Most packets carry no timestamp and share the datagram's receive time.
                    if event.time != times.time {
                        times = (event.time, event.time.rfc3339)
                    }
                    lines.append(event.json(cellID: cell, timeText: times.text))
                }
                for line in lines { tally(output.append(line)) }
            }
        }
        flushEvents()
        return false
    }

    /// Writes the flow summary (one line per flow) and then the stats line.
    public mutating func report() {
        flushEvents()
        for line in decoder.table.summaryLines(cellID: cellID) { _ = output.append(line) }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let time = WallTime(seconds: Int64(now.tv_sec), microseconds: Int32(now.tv_nsec / 1000)).rfc3339
        _ = output.append(decoder.stats.jsonLine(cellID: cellID, time: time, flows: decoder.table.flows.count, flowTableOverflow: decoder.table.overflowedEvents))
        output.flush()
    }

    private mutating func flushEvents() { tally(output.flush()) }

    private mutating func tally(_ result: (written: Int, dropped: Int)) {
        decoder.stats.eventsWritten += UInt64(result.written)
        decoder.stats.eventsDropped += UInt64(result.dropped)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CDNSProxyShim
import HelperRuntime
import IPCWire
import Synchronization

/// The thread that turns queued events into JSON lines and writes them to the
/// events descriptor. Blocking writes happen here only.
final class EventWriter: @unchecked Sendable {
    let queue: EventQueue
    private let output: OwnedFD
    private var json: EventJSON
    private let stopping = Atomic<Bool>(false)
    private let written = Atomic<Int>(0)
    private let writeFailures = Atomic<Int>(0)
    private var thread: pthread_t?
    /// Set by `stop()`, which wakes the paused thread on it: the proxy's exit does
    /// not wait out a pause (the broker waits for it at every cell's end).
    private let wake = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)

    var writtenCount: Int { written.load(ordering: .relaxed) }
    var writeFailureCount: Int { writeFailures.load(ordering: .relaxed) }

    /// Opens `path` for appending ("-" is standard output).
    init(path: String, cellID: String, capacity: Int) throws(SystemCallError) {
        output = try EventsOutput.open(path: path)
        queue = EventQueue(capacity: capacity)
        json = EventJSON(cellID: cellID)
        wake.initialize(to: 0)
    }

    deinit { wake.deallocate() }

    func start() throws(SystemCallError) {
        var handle = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&handle, nil, { context in
            let writer = Unmanaged<EventWriter>.fromOpaque(context!).takeRetainedValue()
            writer.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<EventWriter>.fromOpaque(context).release()
            throw SystemCallError("pthread_create", errno: result, context: "event writer")
        }
        thread = handle
    }

    /// Lets the thread write out everything queued so far, then waits for it.
    func stop() {
        stopping.store(true, ordering: .releasing)
        cellos_dns_wake(wake)
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    /// Appends one line after `stop()` (the writer thread is gone, so nothing
    /// interleaves): the final stats, as the stream's last line.
    func appendFinalLine(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { EventsOutput.writeAll(output.rawValue, $0) }
        if written < bytes.count { writeFailures.add(1, ordering: .relaxed) }
    }

    private func run() {
        var out: [UInt8] = []
        out.reserveCapacity(1 << 17)
        while true {
            let finishing = stopping.load(ordering: .acquiring)
            let count = queue.drain { record, name in
                json.render(record, name: name, into: &out)
                if out.count >= 1 << 16 { flush(&out) }
            }
            flush(&out)
            written.add(count, ordering: .relaxed)
            if count == 0 && finishing { return }
            // Drain in rounds a few milliseconds apart: one write(2) per round however
            // busy the proxy is, and no wake-up system calls on the query loop's side.
            // The ring (default 8192 events) covers a round at well over 100k queries/s.
            cellos_dns_pause(wake, 2_000_000)
        }
    }

    private func flush(_ out: inout [UInt8]) {
        let written = out.withUnsafeBytes { EventsOutput.writeAll(output.rawValue, $0) }
        if written < out.count { writeFailures.add(1, ordering: .relaxed) }
        out.removeAll(keepingCapacity: true)
    }
}

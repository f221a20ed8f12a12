/// `run`'s and `flush`'s sinks from their flags (docs/events.md, "Sinks").
public struct SinkSetup: Sendable {
    public static let defaultSpoolDirectory = "/var/spool/cellos"
    public static let defaultSpoolMaxBytes = 64 << 20

    /// `--events PATH` first (as `file:PATH`), then each `--sink`, in order.
    public var specs: [(label: String, spec: SinkSpec)] = []
    public var spoolDirectory = SinkSetup.defaultSpoolDirectory
    public var spoolMaxBytes = SinkSetup.defaultSpoolMaxBytes
    public var timing = SinkTiming()

    public init(events: String?, sinks: [String], spoolDirectory: String?, spoolMaxBytes: Int?) throws(SinkError) {
        if let events { specs.append((events, .file(path: events))) }
        for text in sinks { specs.append((text, try SinkSpec.parse(text))) }
        if let spoolDirectory {
            guard spoolDirectory.hasPrefix("/") else { throw .invalid(sink: "--spool-dir \(spoolDirectory)", problem: "must be an absolute path") }
            self.spoolDirectory = spoolDirectory
        }
        if let spoolMaxBytes {
            guard spoolMaxBytes >= 4096 else { throw .invalid(sink: "--spool-max-bytes \(spoolMaxBytes)", problem: "must be at least 4096") }
            self.spoolMaxBytes = spoolMaxBytes
        }
    }

    /// Whether `--events -` or `--sink file:-` makes standard output the event stream.
    public var writesStandardOutput: Bool {
        specs.contains { if case .file("-") = $0.spec { true } else { false } }
    }

    /// Opens the files and reads credentials (before the privilege drop); remote
    /// sinks connect on first use. With no sink at all, events go to /dev/null.
    public func writer(signer: EventSigner?, eventHost: String = EventStamper.hostName()) throws(SinkError) -> EventWriter {
        var local: [EventSink] = []
        var remote: [SpooledSink] = []
        for (label, spec) in specs {
            let sink = try spec.open(label: label, eventHost: eventHost, timing: timing)
            if spec.isRemote {
                remote.append(SpooledSink(sink: sink, spool: Spool(directory: spoolDirectory, label: label, maxBytes: spoolMaxBytes), timing: timing))
            } else {
                local.append(sink)
            }
        }
        if local.isEmpty && remote.isEmpty { local.append(try SinkSpec.file(path: "/dev/null").open(label: "/dev/null", eventHost: eventHost, timing: timing)) }
        return EventWriter(local: local, remote: remote, signer: signer, timing: timing)
    }
}

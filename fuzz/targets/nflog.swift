// libFuzzer target: FlowlogCore's NFLOG datagram decoder on arbitrary bytes, as a
// recv() on the NFLOG socket would return them. Any input must end in events or
// counted failures: never a crash, hang or leak.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNflog(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let datagram = UnsafeRawBufferPointer(start: data, count: size)
    var decoder = FlowDecoder(flowCapacity: 16)
    var events = 0
    decoder.process(datagram: datagram, receivedAt: WallTime(seconds: 1_700_000_000, microseconds: 0)) { event in
        events += 1
        // Formatting reads every decoded field, timestamps from the packet included.
        _ = event.jsonLine(cellID: "fuzz")
    }
    let stats = decoder.stats
    precondition(stats.matched == UInt64(events), "every matched packet must yield exactly one event")
    precondition(stats.matched + stats.unmatched <= stats.packets, "a packet is matched or unmatched, not both")
    precondition(stats.packets <= stats.messages, "a packet is a message")
    _ = decoder.table.summaryLines(cellID: "fuzz")
    _ = stats.jsonLine(cellID: "fuzz", time: "1970-01-01T00:00:00.000000Z", flows: decoder.table.flows.count, flowTableOverflow: decoder.table.overflowedEvents)
    return 0
}

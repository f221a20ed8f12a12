/// libFuzzer target: the NATS server-to-client protocol parser the JetStream sink
/// runs on bytes from the network (BrokerCore's `NATSReplyParser`), fed the input
/// whole and again split at every 7th byte: both must agree, and errors must be
/// typed, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNATSReply(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var whole = NATSReplyParser()
    let all = try? whole.feed(bytes)
    var pieces = NATSReplyParser()
    var split: [NATSReplyParser.Operation]? = []
    var offset = 0
    while offset < bytes.count, split != nil {
        let end = min(bytes.count, offset + 7)
        if let operations = try? pieces.feed(bytes[offset..<end]) { split! += operations } else { split = nil }
        offset = end
    }
    if let all, let split, all != split { fatalError("split feeding disagrees: \(all) vs \(split)") }
    for case .message(_, _, _, let headers, _) in all ?? [] { _ = NATSReplyParser.status(ofHeaders: headers) }
    return 0
}

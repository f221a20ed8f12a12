// libFuzzer target: the IP/TCP/UDP/ICMP payload parser on arbitrary bytes, as
// NFULA_PAYLOAD would carry them (the nflog target reaches it only through valid
// netlink framing). Any input must parse or throw: never crash or read out of bounds.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNflogPayload(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let payload = UnsafeRawBufferPointer(start: data, count: size)
    guard let summary = try? PacketSummary.parse(payload) else { return 0 }
    precondition(summary.sourcePort == nil || summary.icmpType == nil, "ports and ICMP type are exclusive")
    if summary.isLaterFragment { precondition(summary.sourcePort == nil, "a later fragment has no ports") }
    _ = summary.source.description
    _ = summary.destination.description
    return 0
}

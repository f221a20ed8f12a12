// libFuzzer target: cellos-netnsd's request/reply decoders (CreateCell with its
// egress policy, CellCreated, DestroyCell, CellDestroyed, ErrorReply, SpawnWorkload
// with its ids, mounts, secret files and cgroup limits, WorkloadSpawned with its confinement and
// enforcement reports, StatusReport with its cells, ...) on arbitrary
// datagrams. Any input must end in a message or a WireError: never a crash or hang.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetnsdMessages(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let datagram = Array(UnsafeBufferPointer(start: data, count: size))
    guard let header = try? FrameHeader.decode(datagram[...]) else { return 0 }
    let payload = Array(datagram.dropFirst(FrameHeader.size))
    guard let message = try? NetnsdFrame.decode(header: header, payload: payload, descriptorCount: Int(header.descriptorCount)) else {
        return 0
    }
    // Decoding canonicalizes (addresses, resolver text), so the property is that
    // re-encoding a decoded message decodes to the same message.
    var writer = WireWriter()
    let count: Int
    switch message {
    case .createCell(let value): value.encode(to: &writer); count = value.descriptorCount
    case .cellCreated(let value): value.encode(to: &writer); count = value.descriptorCount
    case .destroyCell(let value): value.encode(to: &writer); count = value.descriptorCount
    case .cellDestroyed(let value): value.encode(to: &writer); count = value.descriptorCount
    case .readCounters(let value): value.encode(to: &writer); count = value.descriptorCount
    case .countersReport(let value): value.encode(to: &writer); count = value.descriptorCount
    case .spawnWorkload(let value): value.encode(to: &writer); count = value.descriptorCount
    case .workloadSpawned(let value): value.encode(to: &writer); count = value.descriptorCount
    case .startWorkload(let value): value.encode(to: &writer); count = value.descriptorCount
    case .workloadStarted(let value): value.encode(to: &writer); count = value.descriptorCount
    case .signalWorkload(let value): value.encode(to: &writer); count = value.descriptorCount
    case .workloadSignalled(let value): value.encode(to: &writer); count = value.descriptorCount
    case .workloadExited(let value): value.encode(to: &writer); count = value.descriptorCount
    case .readStatus(let value): value.encode(to: &writer); count = value.descriptorCount
    case .statusReport(let value): value.encode(to: &writer); count = value.descriptorCount
    case .error(let value): value.encode(to: &writer); count = 0
    }
    let again = try? NetnsdFrame.decode(header: header, payload: writer.bytes, descriptorCount: count)
    precondition(again == message, "decode/encode/decode changed the message")
    return 0
}

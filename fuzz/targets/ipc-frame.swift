// libFuzzer target: IPCWire's frame and message decoders on arbitrary datagrams.
// Any input must end in a frame or a WireError: never a crash, hang or leak.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIPCFrame(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let datagram = Array(UnsafeBufferPointer(start: data, count: size))
    // The declared fd count must match what arrived; fuzz with none arriving, which is
    // what a peer sending bytes without SCM_RIGHTS produces.
    guard let frame = try? Frame.decode(datagram[...], received: DescriptorSet()) else { return 0 }
    if let message = try? frame.decodeAny() {
        // Re-encoding a decoded message must give back the same payload.
        var writer = WireWriter()
        message.encode(to: &writer)
        precondition(writer.bytes == frame.payload, "decode/encode round trip changed the payload")
    }
    return 0
}

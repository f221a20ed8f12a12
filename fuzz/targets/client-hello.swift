// libFuzzer target: the egress proxy's first-bytes inspection on arbitrary input,
// as the TLS ClientHello parser and as an HTTP/1.1 request head, transparent and
// explicit. Any input must end in a result, never a crash or hang; the parse
// must be the same for the input read whole and for its prefixes growing, and a
// name found must be a valid host name.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientHello(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let hello = ClientHelloParser.parse(bytes, maxHandshakeLength: 32_768)
    if case .found(let name) = hello { precondition(HostName.validated(Array(name.utf8)) == name) }
    // A decided prefix stays decided: more bytes never turn a verdict into needMore.
    if size > 0, hello == .needMore {
        precondition(ClientHelloParser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<(size - 1)])) == .needMore)
    }
    if case .complete(let head) = HTTPRequestParser.parse(bytes, maxHeadLength: 8192) {
        precondition(head.length <= size && head.targetRange.upperBound <= head.length)
        if let host = head.host { precondition(HostName.validated(Array(host.host.utf8)) == host.host) }
    }
    for arrival in [Arrival.transparent(port: 443), .explicit] {
        if case .reach(let name, _, _, let forward) = FirstBytes.inspect(bytes, arrival: arrival) {
            precondition(!name.isEmpty && !forward.isEmpty)
        }
    }
    _ = FirstBytes.tunnel(bytes, expected: Authority(host: "a.example.com", port: 443))
    return 0
}

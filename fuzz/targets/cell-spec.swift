// libFuzzer target: cell spec decoding and the `run` shortcut parsers. Any input
// must decode to a spec or throw a SpecError; a decoded spec written back as JSON
// must decode to the same spec.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCellSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let spec = try? CellSpecDecoder.decode(bytes) {
        let again = try? CellSpecDecoder.decode(Array(spec.json.serialized().utf8))
        precondition(again == spec, "spec encode/decode round trip changed the spec")
    }
    // The same bytes as a flag value.
    let text = String(decoding: bytes.prefix(256), as: UTF8.self)
    _ = try? RunShortcuts.egressRule(text)
    _ = try? RunShortcuts(allowNames: [text], timeout: text, argv: ["x"]).apply(to: CellSpec.defaults(id: "f", argv: ["x"]))
    return 0
}

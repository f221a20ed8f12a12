// libFuzzer target: the /proc/<pid>/status parser and the --print-capabilities
// declaration parser of the capability audit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProcStatus(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let status = try? ProcessStatus.parse(String(decoding: bytes, as: UTF8.self)) {
        precondition(status.uids.count == 4 && status.gids.count == 4)
        _ = CapabilityNames.names(in: status.effective | status.bounding)
    }
    let declared = DeclaredCapabilities.parse(output: bytes)
    precondition(declared.mask == 0 || declared.note == nil || declared.note!.hasPrefix("ignored"))
    return 0
}

// libFuzzer target: the broker's strict JSON parser (cell specs, helper event lines,
// signed event files) and its canonical writer. Any input must parse or throw a
// JSONError; a parsed value must re-serialize to text that parses back to itself
// and is a fixed point of serialization (what signature canonicalization relies on).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBrokerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    let canonical = value.serialized()
    guard let again = try? JSONParser.parse(canonical) else { preconditionFailure("canonical form does not parse: \(canonical)") }
    precondition(again == value, "canonical round trip changed the value")
    precondition(again.serialized() == canonical, "canonical form is not a fixed point")
    return 0
}

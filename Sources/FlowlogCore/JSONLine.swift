#if canImport(IPCWire)  // the nflog fuzz targets compile IPCWire's IPAddress.swift with this file
import IPCWire
#endif
#if canImport(HelperRuntime)
import HelperRuntime
#endif

/// Builds one JSON object on one line, as UTF-8 bytes, fields in the order they
/// are added. The helpers write a handful of flat objects; a tiny byte writer
/// beats Foundation's encoder (startup time, and it is on the per-packet path)
/// and keeps field order stable for readers.
public struct JSONLine {
    public private(set) var bytes: [UInt8]
    private var first = true

    public init() {
        bytes = []
        bytes.reserveCapacity(320)
        bytes.append(UInt8(ascii: "{"))
    }

    private mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        JSONBytes.appendQuoted(value, to: &bytes)
    }

    public mutating func field(_ name: StaticString, _ value: some BinaryInteger) {
        key(name)
        JSONBytes.appendDecimal(value, to: &bytes)
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func field(_ name: StaticString, _ address: IPAddress) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        address.appendText(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func optionalField(_ name: StaticString, _ value: (some BinaryInteger)?) {
        if let value { field(name, value) }
    }

    /// The object's bytes with the closing brace (no newline).
    public var objectBytes: [UInt8] { bytes + [UInt8(ascii: "}")] }

    /// The object as text.
    public var object: String { String(decoding: objectBytes, as: UTF8.self) }
}

/// Appends little-endian fields to a payload. The encoding is deliberately plain:
/// fixed-width integers, `u32 length + bytes` for strings and byte strings,
/// `u32 count + items` for arrays, `u8 0|1` for booleans and optionals.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }

    public mutating func write(_ value: String) { write(bytes: Array(value.utf8)) }

    public mutating func write(bytes value: [UInt8]) {
        write(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func write(_ values: [String]) {
        write(UInt32(values.count))
        for value in values { write(value) }
    }

    public mutating func write<T: FixedWidthInteger>(optional value: T?) {
        write(value != nil)
        if let value { write(value) }
    }

    public mutating func write(optional value: String?) {
        write(value != nil)
        if let value { write(value) }
    }
}

/// Reads what `WireWriter` wrote, strictly: every read names its field so a short
/// payload says where it ended; `finish()` rejects trailing bytes.
public struct WireReader {
    private let buffer: ArraySlice<UInt8>
    private var offset: Int

    public init(_ buffer: ArraySlice<UInt8>) {
        self.buffer = buffer
        self.offset = buffer.startIndex
    }

    public init(_ buffer: [UInt8]) { self.init(buffer[...]) }

    public var remaining: Int { buffer.endIndex - offset }

    public mutating func read<T: FixedWidthInteger>(_ field: String) throws(WireError) -> T {
        let width = MemoryLayout<T>.size
        guard remaining >= width else { throw .truncatedPayload(field: field) }
        var value = T.zero
        for index in 0..<width { value |= T(truncatingIfNeeded: buffer[offset + index]) << (8 * index) }
        offset += width
        return value
    }

    public mutating func readBool(_ field: String) throws(WireError) -> Bool {
        let raw: UInt8 = try read(field)
        switch raw {
        case 0: return false
        case 1: return true
        default: throw .invalidField(field: field, reason: "boolean byte \(raw) is neither 0 nor 1")
        }
    }

    /// A length-prefixed byte string of at most `limit` bytes.
    public mutating func readBytes(_ field: String, limit: Int = FrameHeader.maxPayloadSize) throws(WireError) -> [UInt8] {
        let length: UInt32 = try read(field)
        guard Int(length) <= limit else {
            throw .invalidField(field: field, reason: "length \(length) exceeds limit \(limit)")
        }
        guard remaining >= Int(length) else { throw .truncatedPayload(field: field) }
        let value = Array(buffer[offset..<offset + Int(length)])
        offset += Int(length)
        return value
    }

    /// A length-prefixed string that must be valid UTF-8 without NUL bytes (it may
    /// end up in argv, a path or an environment variable, where NUL truncates).
    public mutating func readString(_ field: String, limit: Int = FrameHeader.maxPayloadSize) throws(WireError) -> String {
        let raw = try readBytes(field, limit: limit)
        guard !raw.contains(0) else { throw .invalidField(field: field, reason: "contains a NUL byte") }
        guard let value = String(validating: raw, as: UTF8.self) else {
            throw .invalidField(field: field, reason: "not valid UTF-8")
        }
        return value
    }

    /// A count-prefixed array of strings; the count is checked against what the
    /// payload could possibly hold before anything is allocated.
    public mutating func readStrings(_ field: String, maxCount: Int) throws(WireError) -> [String] {
        let count: UInt32 = try read(field)
        guard Int(count) <= maxCount else {
            throw .invalidField(field: field, reason: "\(count) items exceed limit \(maxCount)")
        }
        guard Int(count) * MemoryLayout<UInt32>.size <= remaining else { throw .truncatedPayload(field: field) }
        var values: [String] = []
        values.reserveCapacity(Int(count))
        for index in 0..<Int(count) { values.append(try readString("\(field)[\(index)]")) }
        return values
    }

    public mutating func readOptional<T: FixedWidthInteger>(_ field: String) throws(WireError) -> T? {
        try readBool("\(field)?") ? try read(field) as T : nil
    }

    public mutating func readOptionalString(_ field: String) throws(WireError) -> String? {
        try readBool("\(field)?") ? try readString(field) : nil
    }

    /// Call after the last field: trailing bytes are an error, never ignored.
    public func finish() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(count: remaining) }
    }
}

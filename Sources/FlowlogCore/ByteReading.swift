// Bounds-checked reads of fixed-width integers from untrusted bytes. Every decoder
// in FlowlogCore reads through these, so an out-of-range offset is a nil, never a
// read past the buffer. Pure Swift (no C imports) so the decoders can be fuzzed.

extension UnsafeRawBufferPointer {
    @inline(__always)
    func byte(at offset: Int) -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return self[offset]
    }

    /// Network byte order (big-endian) 16-bit value.
    @inline(__always)
    func bigEndianUInt16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    func bigEndianUInt32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always)
    func bigEndianUInt64(at offset: Int) -> UInt64? {
        guard offset >= 0, offset <= count - 8 else { return nil }
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Host byte order values: netlink headers are in the host's order.
    @inline(__always)
    func hostUInt16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset <= count - 2 else { return nil }
        return loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    func hostUInt32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        return loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    /// The bytes in `range`, or nil when the range leaves the buffer.
    @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: self[range])
    }
}

/// Netlink's 4-byte alignment (NLMSG_ALIGN / NLA_ALIGN).
@inline(__always)
func netlinkAligned(_ length: Int) -> Int { (length + 3) & ~3 }

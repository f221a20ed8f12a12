#if canImport(HelperRuntime)
import HelperRuntime
#endif
#if canImport(IPCWire)  // the nflog fuzz targets compile IPCWire's IPAddress.swift with this file
import IPCWire
#endif

extension IPAddress {
    /// The same text as `description`, appended as bytes (IPv4 without allocating).
    func appendText(to bytes: inout [UInt8]) {
        switch self {
        case .v4(let value):
            for shift in [24, 16, 8, 0] as [UInt32] {
                if shift != 24 { bytes.append(UInt8(ascii: ".")) }
                JSONBytes.appendDecimal(UInt8(truncatingIfNeeded: value >> shift), to: &bytes)
            }
        case .v6:
            bytes.append(contentsOf: description.utf8)
        }
    }
}

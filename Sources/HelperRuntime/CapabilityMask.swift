/// Capability masks as `/proc/<pid>/status` prints them (`CapEff:` and friends).
public enum CapabilityMask {
    /// 16 lowercase hex digits, zero-padded.
    public static func hex(_ mask: UInt64) -> String {
        let digits = String(mask, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

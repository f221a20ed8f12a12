/// The machine-readable form of the declared capability set that
/// `cellos-netnsd --print-capabilities` prints: one JSON object with each
/// capability's name, number and operation, and the mask as 16 hex digits in the
/// format of `/proc/<pid>/status` (`CapEff`, `CapPrm`, `CapBnd`).
public enum CapabilityReport {
    public static func json(_ grants: [CapabilityGrant] = DeclaredCapabilities.grants) -> String {
        let mask = grants.reduce(UInt64(0)) { $0 | $1.capability.maskBit }
        let entries = grants.map { grant in
            "{\"name\":\(JSONText.string(grant.capability.name)),\"number\":\(grant.capability.number),"
                + "\"operation\":\(JSONText.string(grant.operation))}"
        }
        return "{\"capabilities\":[\(entries.joined(separator: ","))],\"mask\":\"\(capabilityMaskHex(mask))\"}"
    }
}

/// Minimal JSON text output (the core library avoids Foundation).
enum JSONText {
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// An optional uid/gid pair on the wire: a u8 tag, 0 = none, 1 = uid u32 + gid u32
/// (`SpawnWorkload.ids`, `CellStatus.ids`).
enum IDPairCoding {
    static func write(uid: UInt32?, gid: UInt32?, to writer: inout WireWriter) {
        if let uid, let gid {
            writer.write(UInt8(1))
            writer.write(uid)
            writer.write(gid)
        } else {
            writer.write(UInt8(0))
        }
    }

    /// `prefix` goes before the field names (`cells[0].`); `errorField` and the
    /// meanings of the two tags name a bad tag.
    static func read(
        _ reader: inout WireReader, prefix: String = "", errorField: String, absent: String, present: String
    ) throws(WireError) -> (uid: UInt32?, gid: UInt32?) {
        let tag: UInt8 = try reader.read("\(prefix)ids")
        switch tag {
        case 0: return (nil, nil)
        case 1: return (try reader.read("\(prefix)uid"), try reader.read("\(prefix)gid"))
        default: throw .invalidField(field: errorField, reason: "ids tag \(tag) is neither 0 (\(absent)) nor 1 (\(present))")
        }
    }
}

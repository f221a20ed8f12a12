/// Kernel randomness for ids that must not repeat: `SystemRandomNumberGenerator`
/// is getrandom(2) on Linux (no descriptor, no /dev/urandom to be missing in a
/// chroot or exhausted by a descriptor limit).
public enum RandomBytes {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0 ..< count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    public static func hex(_ count: Int) -> String { Hex.encode(bytes(count)) }
}

import Foundation

/// The `cellos-netnsd` built next to this test binary (SwiftPM puts products and
/// the test bundle in the same directory).
enum BuiltExecutable {
    static var netnsd: String {
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("cellos-netnsd").path
    }
}

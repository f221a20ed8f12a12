import Foundation

/// Finds the package's built executables for tests that run them as processes.
/// `swift test` puts them beside the test bundle; `CELLOS_BIN_DIR` overrides that.
public enum BuiltProducts {
    public static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["CELLOS_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        // /proc/self/exe is the test bundle (…/debug/cellosPackageTests.xctest).
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent()
    }

    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "built executable not found at \(path) (run `swift build` first or set CELLOS_BIN_DIR)" }
    }

    /// Absolute path of the executable product `name`.
    public static func path(of name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Missing(path: path) }
        return path
    }
}

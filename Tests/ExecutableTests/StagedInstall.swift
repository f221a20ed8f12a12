import CellosTestLab
import Foundation

/// `scripts/install.sh --destdir` of the built executables into a fresh
/// temporary directory (the host is not touched); `remove()` deletes it.
struct StagedInstall {
    static let prefix = "/usr/local"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let root: String

    static func make() throws -> StagedInstall {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cellos-stage-\(UUID().uuidString.prefix(8))").path
        let staged = StagedInstall(root: root)
        let result = try Shell.run([
            repository.appendingPathComponent("scripts/install.sh").path, "--prefix", prefix, "--destdir", root,
            "--binaries", BuiltProducts.directory.path,
        ])
        guard result.succeeded else {
            staged.remove()
            throw StagingFailed(result: result)
        }
        return staged
    }

    /// `path` (absolute, as installed) inside the staged tree.
    func path(_ installed: String) -> String { root + installed }

    func uninstall() throws -> CommandResult {
        try Shell.run([Self.repository.appendingPathComponent("scripts/uninstall.sh").path, "--prefix", Self.prefix, "--destdir", root])
    }

    /// Every file and directory left under the root, relative to it.
    func contents() -> [String] {
        (FileManager.default.subpaths(atPath: root) ?? []).sorted()
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    struct StagingFailed: Error, CustomStringConvertible {
        let result: CommandResult
        var description: String { "install.sh exited \(result.status): \(result.stderr)\(result.stdout)" }
    }
}

/// Runs `body` on a fresh staged install, removed afterwards whatever happens.
func withStagedInstall<T>(_ body: (StagedInstall) throws -> T) throws -> T {
    let staged = try StagedInstall.make()
    defer { staged.remove() }
    return try body(staged)
}

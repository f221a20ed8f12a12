import CellosTestLab
import Foundation
import IPCWire
import Testing

/// Every executable of the suite answers --help and --version.
@Suite struct ExecutableTests {
    static let executables = ["cellos-broker", "cellos-netnsd", "cellos-dnsproxy", "cellos-flowlog"]

    @Test(arguments: executables)
    func answersVersion(executable: String) throws {
        let result = try Shell.run([try BuiltProducts.path(of: executable), "--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == CellosVersion.string)
    }

    @Test(arguments: executables)
    func answersHelp(executable: String) throws {
        let result = try Shell.run([try BuiltProducts.path(of: executable), "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: \(executable)"))
        #expect(result.stdout.contains("--version"))
    }
}

import CellosTestLab
import Foundation
import Testing

/// `cellos-flowlog --print-capabilities`: the declaration `cellos-broker audit`
/// reads, in the suite's format (see cellos-netnsd), declaring nothing.
@Suite struct FlowlogPrintCapabilitiesTests {
    @Test func declaresAnEmptySetAsOneJSONLine() throws {
        let result = try Shell.run([FlowlogExecutable.path, "--print-capabilities"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == #"{"capabilities":[],"mask":"0000000000000000"}"# + "\n")
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["capabilities"] as? [Any])?.isEmpty == true)
        #expect(object["mask"] as? String == "0000000000000000")
    }
}

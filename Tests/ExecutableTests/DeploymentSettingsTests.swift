import CellosTestLab
import Foundation
import Testing

/// /etc/cellos/netnsd.conf (netnsd's environment) and /etc/cellos/broker.conf:
/// flag > setting > default, and an unknown key is an error naming it.
@Suite(.serialized) struct DeploymentSettings {
    @Test func netnsdTakesItsFlagsFromTheEnvironment() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let netnsd = try BuiltProducts.path(of: "cellos-netnsd")
        let fromSettings = directory.path + "/settings.sock"
        let daemon = try SpawnedCommand(["env", "CELLOS_NETNSD_SOCKET=\(fromSettings)", "CELLOS_NETNSD_ALLOW_UID=0 65534", netnsd])
        #expect(waitFor { FileManager.default.fileExists(atPath: fromSettings) }, "netnsd did not bind CELLOS_NETNSD_SOCKET")
        daemon.stop()
        // The flag wins over the setting.
        let fromFlag = directory.path + "/flag.sock"
        let flagged = try SpawnedCommand(["env", "CELLOS_NETNSD_SOCKET=\(directory.path)/missing/x.sock", "CELLOS_NETNSD_ALLOW_UID=0", netnsd, "--socket", fromFlag])
        #expect(waitFor { FileManager.default.fileExists(atPath: fromFlag) }, "--socket did not win over CELLOS_NETNSD_SOCKET")
        flagged.stop()
    }

    @Test func netnsdRefusesAnUnknownSetting() throws {
        let result = try Shell.run(["env", "CELLOS_NETNSD_NO_SUCH_FLAG=1", try BuiltProducts.path(of: "cellos-netnsd"), "--print-capabilities"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown setting CELLOS_NETNSD_NO_SUCH_FLAG"), "\(result.stderr)")
    }

    /// Every daemon option --help shows has its setting (catches a flag added without one).
    @Test func everyNetnsdOptionHasASetting() throws {
        let netnsd = try BuiltProducts.path(of: "cellos-netnsd")
        let help = try Shell.check([netnsd, "--help"]).stdout
        let notSettings: Set = ["--help", "--version", "--print-capabilities", "--foreground", "--allow-uid/--allow-gid"]
        for flag in Set(Deployment.flags(in: help)).subtracting(notSettings).sorted() {
            let key = "CELLOS_NETNSD_" + flag.dropFirst(2).uppercased().replacingOccurrences(of: "-", with: "_")
            let result = try Shell.run(["env", "\(key)=no", netnsd, "--print-capabilities"])
            #expect(!result.stderr.contains("unknown setting"), "\(flag) has no setting: \(result.stderr)")
        }
    }

    @Test func brokerReadsItsDefaultsFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.path + "/broker.conf"
        try "# defaults\nCELLOS_BROKER_NETNSD_SOCKET=\"\(directory.path)/from-file.sock\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let broker = try BuiltProducts.path(of: "cellos-broker")
        let fromFile = try Shell.run(["env", "CELLOS_BROKER_CONFIG=\(config)", broker, "run", "--", "/bin/true"])
        #expect(fromFile.stderr.contains("from-file.sock"), "\(fromFile.stderr)")
        let fromFlag = try Shell.run(["env", "CELLOS_BROKER_CONFIG=\(config)", broker, "run", "--netnsd-socket", directory.path + "/from-flag.sock", "--", "/bin/true"])
        #expect(fromFlag.stderr.contains("from-flag.sock") && !fromFlag.stderr.contains("from-file.sock"), "\(fromFlag.stderr)")

        try "CELLOS_BROKER_NETNSD_SOKET=/x\n".write(toFile: config, atomically: true, encoding: .utf8)
        let misspelt = try Shell.run(["env", "CELLOS_BROKER_CONFIG=\(config)", broker, "run", "--", "/bin/true"])
        #expect(misspelt.status == 64)
        #expect(misspelt.stderr.contains("\(config): unknown setting CELLOS_BROKER_NETNSD_SOKET"), "\(misspelt.stderr)")
    }
}

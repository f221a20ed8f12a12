import Foundation
import HelperRuntime
import IPCWire
import Testing

@Suite struct EventsOutputTests {
    @Test func aPathIsCreatedWithMode0640AndAppendedTo() throws {
        let path = "/tmp/cellos-events-output-\(getpid())-\(UInt32.random(in: 0 ... .max)).jsonl"
        defer { unlink(path) }
        for line in ["{\"a\":1}\n", "{\"b\":2}\n"] {
            let fd = try EventsOutput.open(path: path)
            let written = Array(line.utf8).withUnsafeBytes { EventsOutput.writeAll(fd.rawValue, $0) }
            #expect(written == line.utf8.count)
            #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        }
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o640)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n{\"b\":2}\n")
    }

    @Test func dashIsACloseOnExecCopyOfStandardOutput() throws {
        let fd = try EventsOutput.open(path: "-")
        #expect(fd.rawValue > 2)
        #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        var own = stat(), standard = stat()
        #expect(fstat(fd.rawValue, &own) == 0 && fstat(STDOUT_FILENO, &standard) == 0)
        #expect(own.st_ino == standard.st_ino && own.st_dev == standard.st_dev)
    }

    @Test func aMissingDirectoryNamesTheFlagAndPath() {
        #expect(throws: SystemCallError.self) { try EventsOutput.open(path: "/nonexistent-cellos-dir/x") }
        do {
            _ = try EventsOutput.open(path: "/nonexistent-cellos-dir/x")
        } catch {
            #expect("\(error)".contains("--events /nonexistent-cellos-dir/x"))
        }
    }

    @Test func writeAllStopsAtAFailedWrite() {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        close(fds[0])
        signal(SIGPIPE, SIG_IGN)
        let written = Array("x\n".utf8).withUnsafeBytes { EventsOutput.writeAll(fds[1], $0) }
        #expect(written == 0)
        close(fds[1])
    }
}

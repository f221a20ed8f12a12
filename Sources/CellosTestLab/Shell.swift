import Foundation

/// The output and status of a finished command.
public struct CommandResult: Sendable {
    public let arguments: [String]
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public var succeeded: Bool { status == 0 }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let result: CommandResult
    public var description: String {
        "`\(result.arguments.joined(separator: " "))` exited \(result.status): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

/// Runs commands found on PATH (tests and their lab only).
public enum Shell {
    public static func run(_ arguments: [String], input: String? = nil, environment: [String: String]? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try inPipe.fileHandleForWriting.close()
        }
        // Read both pipes before waiting so a chatty command cannot fill one and block.
        let group = DispatchGroup()
        nonisolated(unsafe) var stderrData = Data()
        group.enter()
        DispatchQueue.global().async {
            stderrData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandResult(
            arguments: arguments, status: process.terminationStatus,
            stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Like `run`, but a non-zero exit is an error naming the command and its stderr.
    @discardableResult
    public static func check(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        let result = try run(arguments, input: input)
        guard result.succeeded else { throw CommandFailed(result: result) }
        return result
    }

    /// Starts a command in the background with its output discarded.
    public static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }
}

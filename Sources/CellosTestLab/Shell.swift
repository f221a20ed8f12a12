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
        // Output goes to files, not pipes: a background grandchild that inherits a
        // pipe would otherwise hold the reader until it exits.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cellos-shell-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("out")
        let errURL = scratch.appendingPathComponent("err")
        let inURL = scratch.appendingPathComponent("in")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        try Data((input ?? "").utf8).write(to: inURL)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? out.close()
            try? err.close()
            try? inHandle.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inHandle
        try process.run()
        process.waitUntilExit()
        return CommandResult(
            arguments: arguments, status: process.terminationStatus,
            stdout: try String(contentsOf: outURL, encoding: .utf8), stderr: try String(contentsOf: errURL, encoding: .utf8))
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

import Foundation
import IPCWire
import Testing

/// SpawnWorkload's file secrets: names and sizes in the frame (a count byte after
/// `mounts`), one descriptor each after stdio; strict both ways.
@Suite struct SecretFileWireTests {
    static let id = try! CellID("sec")

    static func spawn(_ files: [SecretFile], stdio: Bool = true, filesystemView: Bool = true, limits: CgroupLimits = .unlimited) throws -> SpawnWorkload {
        try SpawnWorkload(
            cellID: id, path: "/bin/true", arguments: ["true"], uid: 1, gid: 1, stdio: stdio, filesystemView: filesystemView,
            cgroupLimits: limits, secretFiles: files)
    }

    static func payload(_ request: SpawnWorkload) -> [UInt8] {
        var writer = WireWriter()
        request.encode(to: &writer)
        return writer.bytes
    }

    static func decode(_ payload: [UInt8], descriptors: Int) throws(WireError) -> NetnsdFrame.Message {
        let header = FrameHeader(messageType: MessageType.spawnWorkload.rawValue, descriptorCount: descriptors, requestID: 1, payloadLength: payload.count)
        return try NetnsdFrame.decode(header: header, payload: payload, descriptorCount: descriptors)
    }

    @Test(arguments: [0, 1, SecretFile.maxCount])
    func secretFilesRoundTripAndCountDescriptors(count: Int) throws {
        let files = try (0..<count).map { try SecretFile(name: "s\($0).key", size: UInt32($0 * 1000)) }
        for stdio in [true, false] {
            for limits in [CgroupLimits.unlimited, try CgroupLimits(memoryMaxBytes: 64 << 20)] {
                let request = try Self.spawn(files, stdio: stdio, limits: limits)
                #expect(request.descriptorCount == (stdio ? 3 : 0) + count)
                #expect(request.firstSecretDescriptor == (stdio ? 3 : 0))
                #expect(try Self.decode(Self.payload(request), descriptors: request.descriptorCount) == .spawnWorkload(request))
                // The memfds are counted: a frame without them is refused before any field is used.
                if count > 0 {
                    #expect(throws: WireError.descriptorCountMismatch(declared: request.descriptorCount, received: request.descriptorCount - 1)) {
                        _ = try Self.decode(Self.payload(request), descriptors: request.descriptorCount - 1)
                    }
                }
            }
        }
    }

    @Test(arguments: ["", ".hidden", "-rf", "a/b", "..", "name with space", "ünï", String(repeating: "x", count: 65), "a\0b"])
    func badNamesAreRefused(name: String) {
        #expect(throws: WireError.invalidField(field: "secret_files.name", reason: SecretName.rule)) { _ = try SecretFile(name: name, size: 1) }
    }

    @Test func boundsAgreeWithTheMessage() {
        #expect(SecretBounds.environmentEntryBytes == SpawnWorkload.maxStringLength)
        #expect(3 + SecretBounds.maxFiles <= FrameHeader.maxDescriptors)
    }

    @Test func goodNamesAndVariableNames() {
        for name in ["api", "tls.key", "DB_PASSWORD", "a-b", "_x", "9lives", String(repeating: "x", count: 64)] { #expect(SecretName.isValid(name), "\(name)") }
        #expect(SecretName.isVariableName("DB_PASSWORD") && SecretName.isVariableName("_x"))
        #expect(!SecretName.isVariableName("tls.key") && !SecretName.isVariableName("a-b") && !SecretName.isVariableName("9lives"))
    }

    @Test func boundsDuplicatesAndTheViewAreChecked() throws {
        #expect(throws: WireError.invalidField(field: "secret_files.size", reason: "65537 bytes exceed 65536")) {
            _ = try SecretFile(name: "big", size: SecretFile.maxBytes + 1)
        }
        let nine = try (0...SecretFile.maxCount).map { try SecretFile(name: "s\($0)", size: 1) }
        #expect(throws: WireError.invalidField(field: "secret_files", reason: "9 entries exceed 8")) { _ = try Self.spawn(nine) }
        let twice = [try SecretFile(name: "a", size: 1), try SecretFile(name: "a", size: 2)]
        #expect(throws: WireError.invalidField(field: "secret_files[1].name", reason: "'a' is listed twice")) { _ = try Self.spawn(twice) }
        #expect(throws: WireError.invalidField(field: "secret_files", reason: "need the filesystem view (its private /run holds them)")) {
            _ = try Self.spawn([try SecretFile(name: "a", size: 1)], filesystemView: false)
        }
    }

    /// What a hostile client could put in the frame is refused on decode, naming the field.
    @Test func hostileFramesAreRefused() throws {
        let request = try Self.spawn([try SecretFile(name: "api", size: 5)], stdio: false)
        let good = Self.payload(request)
        // Locate the count byte: the payload of the same request without secrets ends there.
        let countAt = Self.payload(try Self.spawn([], stdio: false)).count - 1
        #expect(good[countAt] == 1)
        var tooMany = good
        tooMany[countAt] = UInt8(SecretFile.maxCount + 1)
        #expect(throws: WireError.invalidField(field: "secret_files", reason: "9 entries exceed 8")) { _ = try Self.decode(tooMany, descriptors: 1) }
        var badName = good
        badName[countAt + 5] = UInt8(ascii: "/")  // "api" -> "/pi"
        #expect(throws: WireError.invalidField(field: "secret_files[0].name", reason: SecretName.rule)) { _ = try Self.decode(badName, descriptors: 1) }
        var oversized = good
        oversized.replaceSubrange((good.count - 4)..., with: withUnsafeBytes(of: (SecretFile.maxBytes + 1).littleEndian, Array.init))
        #expect(throws: WireError.invalidField(field: "secret_files[0].size", reason: "65537 bytes exceed 65536")) { _ = try Self.decode(oversized, descriptors: 1) }
        #expect(throws: WireError.self) { _ = try Self.decode(Array(good.dropLast(2)), descriptors: 1) }
        // A frame of the format before secrets (no count byte) is truncated, not guessed.
        #expect(throws: WireError.self) { _ = try Self.decode(Array(good[..<countAt]), descriptors: 0) }
    }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/netnsd-messages").path

    @Test func secretSeedsDecodeWithTheirFields() throws {
        func decode(_ name: String) throws -> NetnsdFrame.Message {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(Self.corpus)/\(name)")))
            let header = try FrameHeader.decode(bytes[...])
            return try NetnsdFrame.decode(header: header, payload: Array(bytes.dropFirst(FrameHeader.size)), descriptorCount: Int(header.descriptorCount))
        }
        guard case .spawnWorkload(let files) = try decode("spawn-secret-files"),
            case .spawnWorkload(let limited) = try decode("spawn-secret-file-cgroup-limits")
        else {
            Issue.record("a seed decodes to another message")
            return
        }
        #expect(files.secretFiles == [try SecretFile(name: "api", size: 33), try SecretFile(name: "tls.key", size: 65536)])
        #expect(files.descriptorCount == 5 && files.firstSecretDescriptor == 3)
        #expect(limited.secretFiles == [try SecretFile(name: "DB_PASSWORD", size: 0)] && !limited.cgroupLimits.isEmpty)
    }
}

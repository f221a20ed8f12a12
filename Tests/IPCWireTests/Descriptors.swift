import Foundation
import IPCWire

/// Descriptors of the kinds the tests pass around, and ways to count them.
enum Descriptors {
    static func pipeEnds() throws -> DescriptorSet {
        var fds: [Int32] = [-1, -1]
        try systemCall("pipe") { pipe(&fds) }
        return DescriptorSet(adopting: fds)
    }

    static func udpSocket() throws -> OwnedFD {
        OwnedFD(adopting: try systemCall("socket") { socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
    }

    static func networkNamespace() throws -> OwnedFD {
        OwnedFD(adopting: try systemCall("open") { open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) })
    }

    /// `count` descriptors cycling through a pipe end, a UDP socket and the netns file.
    static func mixed(_ count: Int) throws -> DescriptorSet {
        var set = DescriptorSet()
        for index in 0..<count {
            switch index % 3 {
            case 0:
                var ends = try pipeEnds()
                set.append(ends.take(0))
            case 1: set.append(try udpSocket())
            default: set.append(try networkNamespace())
            }
        }
        return set
    }

    static func identities(_ set: borrowing DescriptorSet) throws -> [FileIdentity] {
        try (0..<set.count).map { try identity(ofRaw: set.raw($0)) }
    }

    static func identity(ofRaw fd: Int32) throws -> FileIdentity {
        var st = stat()
        try systemCall("fstat") { fstat(fd, &st) }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), mode: UInt32(st.st_mode))
    }

    /// Number of descriptors open in this process right now.
    static func openCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    }
}

/// A raw frame with a header that may lie about its contents.
func rawFrame(type: UInt16 = MessageType.descriptorBundle.rawValue, fdCount: Int, payload: [UInt8], descriptors: consuming DescriptorSet = DescriptorSet()) -> Frame {
    Frame(
        header: FrameHeader(messageType: type, descriptorCount: fdCount, requestID: 7, payloadLength: payload.count),
        payload: payload, descriptors: descriptors)
}

func bundlePayload(_ names: [String]) -> [UInt8] {
    var writer = WireWriter()
    DescriptorBundle(names: names).encode(to: &writer)
    return writer.bytes
}

/// Sends raw bytes as one datagram, bypassing IPCWire's own checks.
func sendRaw(_ connection: borrowing SeqpacketConnection, _ bytes: [UInt8]) throws {
    try systemCall("send") { send(connection.socket.rawValue, bytes, bytes.count, Int32(MSG_NOSIGNAL)) }
}

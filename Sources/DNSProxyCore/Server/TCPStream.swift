#if canImport(Glibc)
import Glibc
#endif
import CShim
import IPCWire

/// One side of a DNS-over-TCP connection, the client's or its upstream's: the
/// socket (owned: the stream's end closes it, which also takes it off the epoll
/// set), the bytes read and not yet handled, and the RFC 7766 messages queued and
/// not yet sent. The socket never blocks.
final class TCPStream {
    let socket: OwnedFD
    var input: [UInt8] = []
    private var output: [UInt8] = []
    private var outputSent = 0
    /// Whether the epoll registration asks for EPOLLOUT.
    private(set) var wantsWrite: Bool
    /// Queued output beyond this is refused: a peer that does not read must not
    /// make the proxy hold its answers.
    static let maxOutput = 1 << 18

    init(socket: consuming OwnedFD, wantsWrite: Bool = false) {
        self.socket = socket
        self.wantsWrite = wantsWrite
    }

    var fd: Int32 { socket.rawValue }
    var hasPendingOutput: Bool { !output.isEmpty }

    /// Queues `message` behind its 2-byte big-endian length. False when that would
    /// pass `maxOutput` (nothing is queued then).
    func queue(_ message: UnsafeRawBufferPointer) -> Bool {
        guard output.count + message.count + 2 <= Self.maxOutput else { return false }
        output.append(UInt8(message.count >> 8))
        output.append(UInt8(message.count & 0xFF))
        output.append(contentsOf: message)
        return true
    }

    /// Sends what the socket takes now. False when the socket failed.
    func flush() -> Bool {
        while outputSent < output.count {
            let sent: Int
            do {
                sent = try output.withUnsafeBytes { raw in
                    Result { () throws(SystemCallError) in
                        try socket.send(UnsafeRawBufferPointer(rebasing: raw[outputSent...]), flags: Int32(MSG_DONTWAIT))
                    }
                }.get()
            } catch {
                if error.wouldBlock { break }
                return false
            }
            outputSent += sent
        }
        if outputSent == output.count {
            output.removeAll(keepingCapacity: true)
            outputSent = 0
        }
        return true
    }

    /// Re-registers the socket when whether it waits for EPOLLOUT changed.
    func updateInterest(in epoll: borrowing Epoll, token: UInt64) {
        let wants = hasPendingOutput
        guard wants != wantsWrite else { return }
        wantsWrite = wants
        let mask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | (wants ? EPOLLOUT.rawValue : 0)
        try? epoll.modify(fd, events: mask, token: token)
    }

    enum ReadResult {
        /// `count` bytes were appended to `input`.
        case data(count: Int)
        case wouldBlock
        /// The peer closed its side.
        case closed
        case failed
    }

    /// One recv(2) into `buffer` (at most 16 KiB), appended to `input`.
    func read(using buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        let count: Int
        do {
            count = try socket.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< min(buffer.count, 16384)]),
                                       flags: Int32(MSG_DONTWAIT))
        } catch {
            return error.wouldBlock ? .wouldBlock : .failed
        }
        if count == 0 { return .closed }
        input.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0 ..< count]))
        return .data(count: count)
    }
}

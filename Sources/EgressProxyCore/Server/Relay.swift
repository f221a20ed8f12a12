#if canImport(Glibc)
import Glibc
#endif

/// Copies bytes both ways between two non-blocking stream sockets until both
/// directions have ended: a read of 0 on one side becomes shutdown(SHUT_WR) on
/// the other once everything read is written (half-close), so a client that
/// sends its request and closes its write side still gets the whole answer.
/// Silence in both directions for `idleMilliseconds` ends the relay.
struct Relay {
    struct Direction {
        let from: Int32
        let to: Int32
        var buffer: UnsafeMutableRawBufferPointer
        var start = 0
        var end = 0
        var readClosed = false
        var done = false
        var moved = 0

        var pending: Bool { start < end }
    }

    static let bufferSize = 128 * 1024

    /// Returns the bytes moved client → upstream and upstream → client.
    static func run(client: Int32, upstream: Int32, idleMilliseconds: Int32) -> (up: Int, down: Int) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * bufferSize, alignment: 16)
        defer { storage.deallocate() }
        var directions = [
            Direction(from: client, to: upstream, buffer: UnsafeMutableRawBufferPointer(rebasing: storage[..<bufferSize])),
            Direction(from: upstream, to: client, buffer: UnsafeMutableRawBufferPointer(rebasing: storage[bufferSize...])),
        ]
        while !(directions[0].done && directions[1].done) {
            var polls = [pollfd(fd: client, events: 0, revents: 0), pollfd(fd: upstream, events: 0, revents: 0)]
            for (index, direction) in directions.enumerated() where !direction.done {
                // Direction 0 reads the client (polls[0]) and writes the upstream (polls[1]).
                if direction.pending { polls[1 - index].events |= Int16(POLLOUT) } else { polls[index].events |= Int16(POLLIN) }
            }
            let ready = poll(&polls, 2, idleMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { break }  // idle timeout or a poll failure
            var failed = false
            for index in 0 ..< 2 where !directions[index].done {
                if !step(&directions[index]) { failed = true }
            }
            if failed { break }
        }
        return (directions[0].moved, directions[1].moved)
    }

    /// Moves what it can without blocking; false on a socket error (reset).
    static func step(_ direction: inout Direction) -> Bool {
        if !direction.pending && !direction.readClosed {
            let count = read(direction.from, direction.buffer.baseAddress, direction.buffer.count)
            if count > 0 {
                direction.start = 0
                direction.end = count
            } else if count == 0 {
                direction.readClosed = true
            } else if errno != EAGAIN && errno != EINTR {
                return false
            }
        }
        while direction.pending {
            let count = write(direction.to, direction.buffer.baseAddress! + direction.start, direction.end - direction.start)
            if count > 0 {
                direction.start += count
                direction.moved += count
            } else if count < 0 && (errno == EAGAIN || errno == EINTR) {
                break
            } else {
                return false
            }
        }
        if direction.readClosed && !direction.pending {
            _ = shutdown(direction.to, Int32(SHUT_WR))
            direction.done = true
        }
        return true
    }
}

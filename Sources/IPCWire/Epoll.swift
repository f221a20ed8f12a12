#if canImport(Glibc)
import Glibc
#endif
import CShim

/// An epoll set that owns its descriptor (after containerization's `Linux/Epoll.swift`).
/// Registrations carry a 64-bit token the caller chooses; a descriptor closed while
/// registered leaves the set by itself, so `remove` is only needed for one that stays open.
public struct Epoll: ~Copyable {
    public let fd: OwnedFD

    /// `epoll_create1(EPOLL_CLOEXEC)`.
    public init() throws(SystemCallError) {
        fd = OwnedFD(adopting: try systemCall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD)`.
    public func add(_ watched: Int32, events: UInt32, token: UInt64) throws(SystemCallError) {
        try systemCall("epoll_ctl(ADD)", context: "fd \(watched)") {
            cellos_epoll_ctl(fd.rawValue, EPOLL_CTL_ADD, watched, events, token)
        }
    }

    /// `epoll_ctl(EPOLL_CTL_MOD)`.
    public func modify(_ watched: Int32, events: UInt32, token: UInt64) throws(SystemCallError) {
        try systemCall("epoll_ctl(MOD)", context: "fd \(watched)") {
            cellos_epoll_ctl(fd.rawValue, EPOLL_CTL_MOD, watched, events, token)
        }
    }

    /// `epoll_ctl(EPOLL_CTL_DEL)`.
    public func remove(_ watched: Int32) throws(SystemCallError) {
        try systemCall("epoll_ctl(DEL)", context: "fd \(watched)") { cellos_epoll_ctl(fd.rawValue, EPOLL_CTL_DEL, watched, 0, 0) }
    }

    /// `epoll_wait(2)` filling the parallel arrays `masks` and `tokens` (same length,
    /// at most 256): how many entries are ready, 0 on timeout.
    public func wait(
        masks: inout [UInt32], tokens: inout [UInt64], timeoutMilliseconds: Int32, retryOnInterrupt: Bool = true
    ) throws(SystemCallError) -> Int {
        precondition(masks.count == tokens.count && masks.count <= 256)
        let count = try systemCall("epoll_wait", retryOnInterrupt: retryOnInterrupt) {
            masks.withUnsafeMutableBufferPointer { masks in
                tokens.withUnsafeMutableBufferPointer { data in
                    cellos_epoll_wait(fd.rawValue, masks.baseAddress, data.baseAddress, Int32(masks.count), timeoutMilliseconds)
                }
            }
        }
        return Int(count)
    }
}

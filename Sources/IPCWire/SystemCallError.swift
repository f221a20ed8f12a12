#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call: which call, on what, and the errno it left.
public struct SystemCallError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public let context: String?

    public init(_ call: String, errno: Int32 = Glibc.errno, context: String? = nil) {
        self.call = call
        self.errno = errno
        self.context = context
    }

    public var description: String {
        let what = context.map { " (\($0))" } ?? ""
        return "\(call)\(what): \(String(cString: strerror(errno))) [errno \(errno)]"
    }
}

extension SystemCallError {
    /// Whether the call was interrupted by a signal handler (EINTR): what a caller
    /// that passed `retryOnInterrupt: false` looks for, e.g. to notice a signal
    /// while blocked in poll.
    public var isInterruption: Bool { errno == EINTR }

    /// Whether a non-blocking call found nothing to do (EAGAIN / EWOULDBLOCK).
    public var wouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
}

/// Runs a system call, retrying while it fails with EINTR: the one place the suite
/// handles EINTR for calls made from Swift.
@inline(__always)
public func retryingOnInterrupt<T: FixedWidthInteger>(_ body: () -> T) -> T {
    while true {
        let result = body()
        if result == -1 && errno == EINTR { continue }
        return result
    }
}

/// Runs a system call (retrying EINTR unless told not to: then an interrupted call
/// throws, `isInterruption`) and turns -1 into a `SystemCallError` named `call`.
@discardableResult
@inline(__always)
public func systemCall<T: FixedWidthInteger>(
    _ call: String, context: @autoclosure () -> String? = nil, retryOnInterrupt: Bool = true, _ body: () -> T
) throws(SystemCallError) -> T {
    let result = retryOnInterrupt ? retryingOnInterrupt(body) : body()
    if result == -1 { throw SystemCallError(call, context: context()) }
    return result
}

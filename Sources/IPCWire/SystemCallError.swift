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

/// Runs a system call (retrying EINTR) and turns -1 into a `SystemCallError` named `call`.
@discardableResult
@inline(__always)
public func systemCall<T: FixedWidthInteger>(
    _ call: String, context: @autoclosure () -> String? = nil, _ body: () -> T
) throws(SystemCallError) -> T {
    let result = retryingOnInterrupt(body)
    if result == -1 { throw SystemCallError(call, context: context()) }
    return result
}

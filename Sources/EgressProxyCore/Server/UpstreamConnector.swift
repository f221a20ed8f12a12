#if canImport(Glibc)
import Glibc
#endif
import DNSProxyCore

/// A non-blocking TCP connect with a deadline, in the proxy's own network namespace.
enum UpstreamConnector {
    enum Outcome {
        case success(Int32)
        case failure(EgressReason)
    }

    static func connect(_ address: SocketAddress, timeoutMilliseconds: Int32) -> Outcome {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(.upstreamRefused) }
        let result = address.withSockaddr { Glibc.connect(fd, $0, $1) }
        if result == 0 { return .success(fd) }
        guard errno == EINPROGRESS else {
            close(fd)
            return .failure(.upstreamRefused)
        }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&poller, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else {
            close(fd)
            return .failure(.upstreamTimeout)
        }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
            close(fd)
            return .failure(error == ETIMEDOUT ? .upstreamTimeout : .upstreamRefused)
        }
        return .success(fd)
    }
}

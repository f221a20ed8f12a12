#if canImport(Glibc)
import Glibc
#endif
import DNSProxyCore
import IPCWire

/// A non-blocking TCP connect with a deadline, in the proxy's own network namespace.
enum UpstreamConnector {
    enum Outcome: ~Copyable {
        case success(OwnedFD)
        case failure(EgressReason)
    }

    static func connect(_ address: SocketAddress, timeoutMilliseconds: Int32) -> Outcome {
        let raw = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard raw >= 0 else { return .failure(.upstreamRefused) }
        let owned = OwnedFD(adopting: raw)
        let result = address.withSockaddr { Glibc.connect(owned.rawValue, $0, $1) }
        if result == 0 { return .success(owned) }
        guard errno == EINPROGRESS else { return .failure(.upstreamRefused) }
        var poller = pollfd(fd: owned.rawValue, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&poller, 1, timeoutMilliseconds) } while ready < 0 && errno == EINTR
        guard ready > 0 else { return .failure(.upstreamTimeout) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(owned.rawValue, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else {
            return .failure(error == ETIMEDOUT ? .upstreamTimeout : .upstreamRefused)
        }
        return .success(owned)
    }
}

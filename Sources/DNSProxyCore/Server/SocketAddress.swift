#if canImport(Glibc)
import Glibc
#endif
import IPCWire

/// An IPv4 or IPv6 socket address, stored in a `sockaddr_in6`-sized value so a
/// datagram's source can be received into it whatever the family.
public struct SocketAddress: Sendable, CustomStringConvertible {
    var storage = sockaddr_in6()

    public var family: Int32 { Int32(storage.sin6_family) }
    public var port: UInt16 { UInt16(bigEndian: storage.sin6_port) }
    static let capacity = socklen_t(MemoryLayout<sockaddr_in6>.size)

    init() {}

    /// An address the kernel filled in (getsockname, getpeername, SO_ORIGINAL_DST).
    public static func from(_ storage: sockaddr_in6) -> SocketAddress {
        var address = SocketAddress()
        address.storage = storage
        return address
    }

    /// Parses `ADDR:PORT`, `[V6ADDR]:PORT`, or with `defaultPort` also a bare address.
    public static func parse(_ text: String, defaultPort: UInt16? = nil) -> SocketAddress? {
        guard let split = try? HostPort.split(text) else { return nil }
        let host = split.host
        let portText = split.port
        let port: UInt16
        if let portText {
            guard let value = UInt16(portText) else { return nil }
            port = value
        } else {
            guard let defaultPort else { return nil }
            port = defaultPort
        }
        var address = SocketAddress()
        var v4 = in_addr()
        var v6 = in6_addr()
        if !host.contains(":"), inet_pton(AF_INET, String(host), &v4) == 1 {
            withUnsafeMutableBytes(of: &address.storage) { raw in
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr = v4
                raw.storeBytes(of: sin, as: sockaddr_in.self)
            }
        } else if inet_pton(AF_INET6, String(host), &v6) == 1 {
            address.storage.sin6_family = sa_family_t(AF_INET6)
            address.storage.sin6_port = port.bigEndian
            address.storage.sin6_addr = v6
        } else {
            return nil
        }
        return address
    }

    /// The length the kernel expects for this family.
    public var length: socklen_t {
        family == AF_INET ? socklen_t(MemoryLayout<sockaddr_in>.size) : Self.capacity
    }

    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// Family, port and address bytes, for comparing sources cheaply.
    var key: EndpointKey {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET {
                let sin = raw.load(as: sockaddr_in.self)
                return EndpointKey(family: UInt16(AF_INET), port: UInt16(bigEndian: sin.sin_port),
                                   addressHigh: 0, addressLow: UInt64(UInt32(bigEndian: sin.sin_addr.s_addr)))
            }
            let addr = UnsafeRawBufferPointer(rebasing: raw[8 ..< 24])
            return EndpointKey(family: UInt16(family), port: port,
                               addressHigh: UInt64(bigEndian: addr.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                               addressLow: UInt64(bigEndian: addr.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
    }

    /// "127.0.0.1:53" or "[::1]:53".
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var copy = storage
        if family == AF_INET {
            let text: String = withUnsafeBytes(of: &copy) { raw in
                var sin = raw.load(as: sockaddr_in.self)
                _ = inet_ntop(AF_INET, &sin.sin_addr, &buffer, socklen_t(buffer.count))
                return cText(buffer)
            }
            return "\(text):\(port)"
        }
        _ = inet_ntop(AF_INET6, &copy.sin6_addr, &buffer, socklen_t(buffer.count))
        return "[\(cText(buffer))]:\(port)"
    }
}

/// The text before the first NUL of a C character buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

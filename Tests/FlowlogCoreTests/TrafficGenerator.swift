import Foundation
import IPCWire

/// Sends single packets from the calling thread's network namespace: UDP
/// datagrams, a TCP SYN (a non-blocking connect) and an ICMP echo request.
enum Traffic {
    static func udp(to address: String, port: UInt16, from sourcePort: UInt16 = 0, payload: [UInt8] = Array("flowlog".utf8)) {
        withSocketAddress(address, port) { family, pointer, length in
            let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
            guard fd >= 0 else { return }
            defer { close(fd) }
            bindSource(fd, family: family, port: sourcePort)
            // A rule that drops the datagram makes sendto fail with EPERM; the log happened first.
            _ = payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, pointer, length) }
        }
    }

    static func tcpConnect(to address: String, port: UInt16, from sourcePort: UInt16 = 0) {
        withSocketAddress(address, port) { family, pointer, length in
            let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { return }
            defer { close(fd) }
            bindSource(fd, family: family, port: sourcePort)
            _ = connect(fd, pointer, length)  // EINPROGRESS: the SYN is on its way
        }
    }

    /// An echo request: ICMP over IPv4, ICMPv6 over IPv6 (whose checksum the kernel fills in).
    static func icmpEcho(to address: String, identifier: UInt16 = 0x4242) {
        withSocketAddress(address, 0) { family, pointer, length in
            let v6 = family == AF_INET6
            let fd = socket(family, Int32(SOCK_RAW.rawValue), Int32(v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
            guard fd >= 0 else { return }
            defer { close(fd) }
            var message: [UInt8] = [v6 ? 128 : 8, 0, 0, 0, UInt8(identifier >> 8), UInt8(identifier & 0xFF), 0, 1] + Array("ping".utf8)
            if !v6 {
                let checksum = internetChecksum(message)
                message[2] = UInt8(checksum >> 8)
                message[3] = UInt8(checksum & 0xFF)
            }
            _ = message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, pointer, length) }
        }
    }

    /// Binds a fixed source port (0: let the kernel pick), so two runs of the
    /// same traffic produce the same 5-tuples.
    static func bindSource(_ fd: Int32, family: Int32, port: UInt16) {
        guard port != 0 else { return }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        withSocketAddress(family == AF_INET6 ? "::" : "0.0.0.0", port) { _, pointer, length in _ = bind(fd, pointer, length) }
    }

    static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        for index in stride(from: 0, to: bytes.count, by: 2) {
            sum += UInt32(bytes[index]) << 8 | (index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0)
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func withSocketAddress(_ address: String, _ port: UInt16, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Void) {
        if address.contains(":") {
            var storage = sockaddr_in6()
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = port.bigEndian
            precondition(inet_pton(AF_INET6, address, &storage.sin6_addr) == 1, "bad IPv6 address \(address)")
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(AF_INET6, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var storage = sockaddr_in()
            storage.sin_family = sa_family_t(AF_INET)
            storage.sin_port = port.bigEndian
            precondition(inet_pton(AF_INET, address, &storage.sin_addr) == 1, "bad IPv4 address \(address)")
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(AF_INET, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }
}

import CDNSProxyShim
#if canImport(Glibc)
import Glibc
#endif

/// Fixed storage for up to 64 datagrams with their addresses, received with one
/// recvmmsg(2) or sent with one sendmmsg(2): fewer system calls per query at load.
final class DatagramBatch {
    static let maxCount = 64
    let stride: Int
    let capacity: Int
    let buffers: UnsafeMutableRawBufferPointer
    private(set) var addresses: [SocketAddress]
    private var addressLengths: [UInt32]
    private(set) var lengths: [UInt32]
    private var truncated: [Int32]
    private(set) var count = 0
    static let addressStride = MemoryLayout<SocketAddress>.stride

    init(stride: Int, capacity: Int = maxCount) {
        precondition(capacity <= Self.maxCount)
        self.stride = stride
        self.capacity = capacity
        buffers = .allocate(byteCount: stride * capacity, alignment: 16)
        addresses = Array(repeating: SocketAddress(), count: capacity)
        addressLengths = Array(repeating: 0, count: capacity)
        lengths = Array(repeating: 0, count: capacity)
        truncated = Array(repeating: 0, count: capacity)
    }

    deinit { buffers.deallocate() }

    var isEmpty: Bool { count == 0 }

    /// Datagram `index` as received (or queued).
    func datagram(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: buffers[(index * stride) ..< (index * stride + Int(lengths[index]))])
    }

    func wasTruncated(_ index: Int) -> Bool { truncated[index] != 0 }

    /// Receives what is waiting on `fd` (up to the capacity); returns the count.
    func receive(from fd: Int32) -> Int {
        let received = addresses.withUnsafeMutableBytes { addressBytes in
            lengths.withUnsafeMutableBufferPointer { lengthBuffer in
                truncated.withUnsafeMutableBufferPointer { truncatedBuffer in
                    cellos_dns_recv_batch(
                        fd, buffers.baseAddress!.assumingMemoryBound(to: UInt8.self), stride, UInt32(capacity),
                        addressBytes.baseAddress!.assumingMemoryBound(to: UInt8.self), Self.addressStride,
                        lengthBuffer.baseAddress, truncatedBuffer.baseAddress)
                }
            }
        }
        count = max(0, Int(received))
        return count
    }

    /// Queues `message` for `address`, sending the batch through `fd` first when full.
    /// A message larger than a slot is dropped.
    func append(_ message: UnsafeRawBufferPointer, to address: SocketAddress, flushingThrough fd: Int32) {
        guard message.count <= stride else { return }
        if count == capacity { flush(through: fd) }
        UnsafeMutableRawBufferPointer(rebasing: buffers[(count * stride) ..< (count * stride + message.count)]).copyMemory(from: message)
        addresses[count] = address
        addressLengths[count] = address.length
        lengths[count] = UInt32(message.count)
        count += 1
    }

    /// Sends every queued datagram (what the socket buffer cannot take is dropped, as
    /// the network would drop it) and empties the batch.
    func flush(through fd: Int32) {
        var first = 0
        while first < count {
            let sent = addresses.withUnsafeBytes { addressBytes in
                addressLengths.withUnsafeBufferPointer { addressLengthBuffer in
                    lengths.withUnsafeBufferPointer { lengthBuffer in
                        cellos_dns_send_batch(
                            fd, buffers.baseAddress!.assumingMemoryBound(to: UInt8.self) + first * stride, stride,
                            UInt32(count - first), addressBytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + first * Self.addressStride,
                            Self.addressStride, addressLengthBuffer.baseAddress! + first, lengthBuffer.baseAddress! + first)
                    }
                }
            }
            // An error on the first datagram (e.g. a full buffer): skip it, try the rest.
            first += sent > 0 ? Int(sent) : 1
        }
        count = 0
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// What a driver of cells asks of netnsd, one request at a time: the seam
/// between the broker's `CellRun` and the control socket, so that a run can be
/// tested against a fake netnsd. `SocketNetnsdChannel` is the real one.
public protocol NetnsdChannel: AnyObject {
    /// Sends `request` and waits for its reply (see `NetnsdClient.request`).
    func request<M: NetnsdMessage>(_ request: M, descriptors: consuming DescriptorSet) throws(WireError) -> NetnsdReply
    /// The next `WorkloadExited` event, waiting for it if none is queued.
    func nextExit() throws(WireError) -> WorkloadExited
    /// Whether a `WorkloadExited` is queued or something arrives within `timeoutMilliseconds`.
    func awaitEvent(timeoutMilliseconds: Int32) -> Bool
}

extension NetnsdChannel {
    public func request<M: NetnsdMessage>(_ request: M) throws(WireError) -> NetnsdReply {
        try self.request(request, descriptors: DescriptorSet())
    }
}

/// A `NetnsdClient` on the control socket as a `NetnsdChannel`.
public final class SocketNetnsdChannel: NetnsdChannel {
    private var client: NetnsdClient

    public init(_ client: consuming NetnsdClient) { self.client = client }

    public func request<M: NetnsdMessage>(_ request: M, descriptors: consuming DescriptorSet) throws(WireError) -> NetnsdReply {
        try client.request(request, descriptors: descriptors)
    }

    public func nextExit() throws(WireError) -> WorkloadExited { try client.nextExit() }

    public func awaitEvent(timeoutMilliseconds: Int32) -> Bool {
        if client.hasPendingExit { return true }
        var poller = pollfd(fd: client.connection.socket.rawValue, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, timeoutMilliseconds) > 0
    }
}

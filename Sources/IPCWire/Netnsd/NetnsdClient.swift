/// A client of the netnsd control socket: one request at a time, replies matched
/// by request id. Used by `cellos-netnsd ctl` and the tests; the broker can use it too.
public struct NetnsdClient: ~Copyable {
    public let connection: SeqpacketConnection
    private var nextRequestID: UInt32 = 1
    /// `WorkloadExited` events that arrived while a reply was awaited.
    private var pendingExits: [WorkloadExited] = []

    public init(connection: consuming SeqpacketConnection) { self.connection = connection }

    public static func connect(path: String) throws(SystemCallError) -> NetnsdClient {
        NetnsdClient(connection: try SeqpacketConnection.connect(path: path))
    }

    /// Sends `request` and waits for its reply; the reply's descriptors are returned
    /// with it (named by `CellCreated.names` for a created cell).
    public mutating func request<M: NetnsdMessage>(
        _ request: M, descriptors: consuming DescriptorSet = DescriptorSet()
    ) throws(WireError) -> NetnsdReply {
        let requestID = nextRequestID
        nextRequestID &+= 1
        do {
            try connection.send(NetnsdFrame.make(request, requestID: requestID, descriptors: descriptors))
        } catch .peerClosed {
            // netnsd may have refused the connection (one ErrorReply, then closed it)
            // before this request arrived: that refusal, still queued here, is the answer.
            guard let refusal = try? receiveReply(expecting: requestID) else { throw .peerClosed }
            return refusal
        }
        return try receiveReply(expecting: requestID)
    }

    /// Receives the next reply (e.g. the refusal an unauthorized peer gets unasked),
    /// setting aside workload exit events that arrive first.
    public mutating func receiveReply(expecting requestID: UInt32? = nil) throws(WireError) -> NetnsdReply {
        var frame = try receiveFrame()
        while frame.header.messageType == MessageType.workloadExited.rawValue {
            if case .workloadExited(let exited) = try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: frame.descriptors.count) {
                pendingExits.append(exited)
            }
            frame = try receiveFrame()
        }
        // Request id 0 is never used by a request: an ErrorReply with it refuses the
        // whole connection (unauthorized, a limit reached) and answers any request.
        let refusesConnection = frame.header.requestID == 0 && frame.header.messageType == MessageType.errorReply.rawValue
        if let requestID, frame.header.requestID != requestID, !refusesConnection {
            throw .invalidField(field: "request id", reason: "reply to \(frame.header.requestID), expected \(requestID)")
        }
        let message = try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: frame.descriptors.count)
        var descriptors = DescriptorSet()
        for index in 0..<frame.descriptors.count { descriptors.append(frame.descriptors.take(index)) }
        return NetnsdReply(message: message, descriptors: descriptors)
    }

    /// The next frame. A peer that closed with our request unread makes the kernel
    /// report ECONNRESET ahead of the datagrams still queued here, and one of them
    /// may be netnsd's refusal of the connection: look once more before giving up.
    private func receiveFrame() throws(WireError) -> Frame {
        do {
            return try connection.receive()
        } catch .peerClosed {
            do { return try connection.receive(dontWait: true) } catch { throw .peerClosed }
        }
    }

    /// Whether a `WorkloadExited` arrived while a reply was awaited (then
    /// `nextExit` returns without reading the socket).
    public var hasPendingExit: Bool { !pendingExits.isEmpty }

    /// The next `WorkloadExited` event, waiting for it if none is queued.
    public mutating func nextExit() throws(WireError) -> WorkloadExited {
        if !pendingExits.isEmpty { return pendingExits.removeFirst() }
        while true {
            let frame = try connection.receive()
            let message = try NetnsdFrame.decode(header: frame.header, payload: frame.payload, descriptorCount: frame.descriptors.count)
            if case .workloadExited(let exited) = message { return exited }
            throw .unexpectedMessageType(expected: MessageType.workloadExited.rawValue, received: frame.header.messageType)
        }
    }
}

/// A decoded reply and the descriptors that came with it.
public struct NetnsdReply: ~Copyable {
    public let message: NetnsdFrame.Message
    public var descriptors: DescriptorSet

    public init(message: NetnsdFrame.Message, descriptors: consuming DescriptorSet) {
        self.message = message
        self.descriptors = descriptors
    }
}

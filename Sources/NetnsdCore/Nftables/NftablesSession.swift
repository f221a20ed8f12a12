import CNftables

/// A libnftables context with output and errors captured in buffers, so a failed
/// command reports nft's own message instead of printing it to stderr.
///
/// libnftables talks to the kernel over a netlink socket that belongs to the
/// network namespace it is opened in: create a session on a thread inside the
/// target netns (`NetworkNamespace.run(in:)`); it then keeps working on the
/// cell's table from any thread.
///
/// A cell keeps its session for its whole life (`Cell.firewall`) because closing
/// the socket is slow right after a commit: the kernel's NETLINK_URELEASE handler
/// in nf_tables flushes the pending transaction cleanup, i.e. waits for an RCU
/// grace period (~8–11 ms measured, most of a CreateCell). Keeping it open also
/// keeps its netlink port id taken while the cell's NFLOG socket binds, so the
/// NFLOG socket can never inherit that port id and lose its instance to the late
/// URELEASE of the closing nft socket (the race that sank an asynchronous close).
struct NftablesSession: ~Copyable {
    private let context: OpaquePointer

    init() throws(NftablesError) {
        guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { throw .contextUnavailable }
        guard nft_ctx_buffer_output(context) == 0, nft_ctx_buffer_error(context) == 0 else {
            nft_ctx_free(context)
            throw .contextUnavailable
        }
        self.context = context
    }

    /// Takes back a context `release()`d to cross a thread boundary.
    init(adopting context: OpaquePointer) { self.context = context }

    deinit { nft_ctx_free(context) }

    /// Gives up ownership (the closure result of a namespace thread must be copyable).
    consuming func release() -> OpaquePointer {
        let context = self.context
        discard self
        return context
    }

    /// Switches listings to libnftables' JSON output (or back).
    func useJSONOutput(_ on: Bool = true) {
        let flags = nft_ctx_output_get_flags(context)
        let json = UInt32(NFT_CTX_OUTPUT_JSON)
        nft_ctx_output_set_flags(context, on ? flags | json : flags & ~json)
    }

    /// Runs nft commands (one transaction per buffer) and returns what they printed.
    @discardableResult
    func run(_ commands: String, purpose: String) throws(NftablesError) -> String {
        let status = nft_run_cmd_from_buffer(context, commands)
        let output = nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
        let errors = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? ""
        guard status == 0 else {
            throw .commandFailed(purpose: purpose, message: errors.isEmpty ? "status \(status)" : errors)
        }
        return output
    }
}

/// A session held by reference, for an owner that must stay copyable (an uplink
/// lease keeps the session its NAT table was loaded through, for the same reason
/// a cell keeps its own). Used by one cell's owner at a time.
final class SharedNftablesSession: @unchecked Sendable {
    let session: NftablesSession
    init(_ session: consuming NftablesSession) { self.session = session }
}

public enum NftablesError: Error, Equatable, Sendable, CustomStringConvertible {
    case contextUnavailable
    case commandFailed(purpose: String, message: String)
    case malformedListing(String)

    public var description: String {
        switch self {
        case .contextUnavailable: "libnftables: cannot create a context"
        case .commandFailed(let purpose, let message): "nftables: \(purpose) failed: \(message.trimmingTrailingNewlines())"
        case .malformedListing(let reason): "nftables: unexpected JSON listing: \(reason)"
        }
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var copy = self
        while copy.last?.isNewline == true { copy.removeLast() }
        return copy
    }
}

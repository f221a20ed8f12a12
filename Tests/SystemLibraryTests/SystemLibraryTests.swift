import CCap
import CMnl
import CNftables
import CSeccomp
import Testing

/// The system libraries are found through pkg-config, link, and answer a call.
@Suite struct SystemLibraryTests {
    @Test func libseccompReportsItsVersion() throws {
        let version = try #require(seccomp_version())
        #expect(version.pointee.major >= 2)
    }

    @Test func libnftablesCreatesAContext() throws {
        let context = try #require(nft_ctx_new(UInt32(NFT_CTX_DEFAULT)))
        nft_ctx_free(context)
    }

    @Test func libmnlOpensANetlinkSocket() throws {
        let socket = try #require(mnl_socket_open(NETLINK_ROUTE))
        #expect(mnl_socket_get_fd(socket) >= 0)
        mnl_socket_close(socket)
    }

    @Test func libcapReadsThisProcessCapabilities() throws {
        let caps = try #require(cap_get_proc())
        defer { cap_free(UnsafeMutableRawPointer(caps)) }
        let text = try #require(cap_to_text(caps, nil))
        defer { cap_free(text) }
        #expect(!String(cString: text).isEmpty)
    }
}

import Foundation
import NetnsdCore

/// The descriptors open in this process right now (entries of /proc/self/fd),
/// once the nftables reaper is idle.
enum OpenDescriptors {
    static func count() throws -> Int {
        // libnftables contexts are freed (and their sockets closed) on a
        // background thread; count once every one handed over so far is gone.
        NftablesReaper.shared.waitUntilIdle()
        // The directory listing itself holds one descriptor while it runs; it is
        // the same one every time, so counts stay comparable.
        return try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
    }
}

import Foundation
import IPCWire

/// A host directory any uid may write (mode 0777), bound read-write at the same
/// path into a workload's filesystem view: the files a test reads back after the
/// workload ran. Removed with everything in it when released.
final class SharedDirectory {
    let path: String
    let mount: BindMount

    init(_ name: String) throws {
        path = "/var/tmp/cellos-netnsd-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        chmod(path, 0o777)  // createDirectory's attributes are masked by the umask
        mount = try BindMount(source: path, target: path, writable: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

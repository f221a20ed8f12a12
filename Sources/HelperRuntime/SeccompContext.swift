#if canImport(Glibc)
import Glibc
#endif
import CSeccomp
import CShim
import IPCWire

/// One libseccomp filter being built (`seccomp_init` … `seccomp_release`): the one
/// place that talks to libseccomp, for the helpers' allowlists, the broker's
/// denylist and the workload's compiled filter alike.
public struct SeccompContext: ~Copyable {
    /// SCMP_ACT_ALLOW and SCMP_ACT_ERRNO(EPERM): function-like macros in seccomp.h.
    public static let allow: UInt32 = 0x7FFF_0000
    public static let denyWithEPERM: UInt32 = 0x0005_0000 | (UInt32(EPERM) & 0xFFFF)

    private let raw: scmp_filter_ctx

    /// `seccomp_init(defaultAction)`.
    public init(defaultAction: UInt32) throws(SeccompInstallError) {
        guard let raw = seccomp_init(defaultAction) else { throw .libseccomp(call: "seccomp_init", result: -ENOMEM) }
        self.raw = raw
        // Every system call runs through the filter: a binary tree instead of a
        // linear list of comparisons keeps that cost flat (libseccomp >= 2.5; older
        // versions refuse the attribute and keep the list, which is as strict).
        _ = seccomp_attr_set(raw, SCMP_FLTATR_CTL_OPTIMIZE, 2)
    }

    deinit { seccomp_release(raw) }

    /// `seccomp_attr_set(SCMP_FLTATR_CTL_TSYNC)`: `load()` then filters every thread
    /// of the process, not only the calling one.
    public func synchronizeThreads() throws(SeccompInstallError) {
        let result = seccomp_attr_set(raw, SCMP_FLTATR_CTL_TSYNC, 1)
        guard result == 0 else { throw .libseccomp(call: "seccomp_attr_set(TSYNC)", result: result) }
    }

    /// `seccomp_rule_add_array`: `action` for `name` when all `comparisons` hold.
    /// A name this architecture's libseccomp does not know is skipped when
    /// `skipUnknown`, else an error.
    public func add(
        _ action: UInt32, _ name: String, _ comparisons: [scmp_arg_cmp] = [], skipUnknown: Bool = false
    ) throws(SeccompInstallError) {
        let number = seccomp_syscall_resolve_name(name)
        guard number != __NR_SCMP_ERROR else {
            if skipUnknown { return }
            throw .unknownSystemCall(name)
        }
        let result = comparisons.withUnsafeBufferPointer { buffer in
            seccomp_rule_add_array(raw, action, number, UInt32(buffer.count), buffer.baseAddress)
        }
        guard result == 0 else { throw .libseccomp(call: "seccomp_rule_add(\(name))", result: result) }
    }

    /// Sets `no_new_privs` (the kernel refuses a filter from an unprivileged
    /// process without it) and `seccomp_load`s the filter.
    public func load() throws(SeccompInstallError) {
        do throws(SystemCallError) {
            try systemCall("prctl(PR_SET_NO_NEW_PRIVS)") { cellos_set_no_new_privs() }
        } catch {
            throw .noNewPrivs(error)
        }
        let result = seccomp_load(raw)
        guard result == 0 else { throw .libseccomp(call: "seccomp_load", result: result) }
    }

    /// `seccomp_export_bpf`: the compiled program (an array of `struct sock_filter`,
    /// 8 bytes each), for a process that installs it later without libseccomp.
    public func exportBPF() throws(SeccompInstallError) -> [UInt8] {
        var fds: [Int32] = [-1, -1]
        do throws(SystemCallError) {
            try systemCall("pipe2") { cellos_pipe_cloexec(&fds) }
        } catch {
            throw .export(error)
        }
        let readEnd = OwnedFD(adopting: fds[0])
        let writeEnd = OwnedFD(adopting: fds[1])
        // The filter is a few hundred bytes, far below the pipe's buffer, so writing
        // it all before reading cannot block.
        let exported = seccomp_export_bpf(raw, writeEnd.rawValue)
        writeEnd.close()
        guard exported == 0 else { throw .libseccomp(call: "seccomp_export_bpf", result: exported) }
        var program: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { raw in retryingOnInterrupt { read(readEnd.rawValue, raw.baseAddress, raw.count) } }
            guard count >= 0 else { throw .export(SystemCallError("read(seccomp bpf)")) }
            if count == 0 { break }
            program += chunk[0..<count]
        }
        guard !program.isEmpty, program.count % 8 == 0 else {
            throw .export(SystemCallError("seccomp_export_bpf", errno: EINVAL, context: "\(program.count) bytes"))
        }
        return program
    }
}

public enum SeccompInstallError: Error, Equatable, Sendable, CustomStringConvertible {
    case noNewPrivs(SystemCallError)
    /// A libseccomp call failed with `result` (a negative errno).
    case libseccomp(call: String, result: Int32)
    case unknownSystemCall(String)
    case export(SystemCallError)

    public var description: String {
        switch self {
        case .noNewPrivs(let error), .export(let error): error.description
        case .libseccomp(let call, let result): "\(call) failed: \(String(cString: strerror(-result))) [\(result)]"
        case .unknownSystemCall(let name): "seccomp: this architecture has no system call named \(name)"
        }
    }
}

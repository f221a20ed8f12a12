/// Linux capability numbers and names (linux/capability.h), in pure Swift so the
/// audit needs no libcap and its parsers can be fuzzed alone. Bits beyond the
/// table (a newer kernel) print as `CAP_<number>`.
public enum CapabilityNames {
    public static let table: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    public static func name(of number: Int) -> String {
        table.indices.contains(number) ? table[number] : "CAP_\(number)"
    }

    /// `CAP_NET_ADMIN`, `net_admin` or `cap_net_admin` → 12; nil if unknown.
    public static func number(of name: String) -> Int? {
        var upper = name.uppercased()
        if !upper.hasPrefix("CAP_") { upper = "CAP_" + upper }
        if let index = table.firstIndex(of: upper) { return index }
        if let number = Int(upper.dropFirst(4)), (0..<64).contains(number) { return number }
        return nil
    }

    /// The names of the bits set in `mask`, lowest first.
    public static func names(in mask: UInt64) -> [String] {
        (0..<64).filter { mask & (1 << UInt64($0)) != 0 }.map(name(of:))
    }
}

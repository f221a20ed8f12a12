/// nfnetlink_log wire constants (`linux/netfilter/nfnetlink_log.h`,
/// `linux/netfilter/nfnetlink.h`), spelled out so the pure-Swift decoders and the
/// fuzz target need no C import.
public enum NflogProtocol {
    /// NFNL_SUBSYS_ULOG: the high byte of an NFLOG message type.
    public static let subsystem: UInt16 = 4
    /// NFULNL_MSG_PACKET: a logged packet, kernel to userspace.
    public static let packetMessageType: UInt16 = subsystem << 8 | 0
    /// NFULNL_MSG_CONFIG: configuration, userspace to kernel.
    public static let configMessageType: UInt16 = subsystem << 8 | 1
    /// struct nfgenmsg: family (u8), version (u8), res_id (be16, the group).
    public static let nfgenmsgSize = 4

    /// NFULA_* packet attributes.
    public enum Attribute {
        public static let packetHeader: UInt16 = 1
        public static let mark: UInt16 = 2
        public static let timestamp: UInt16 = 3
        public static let inputInterface: UInt16 = 4
        public static let outputInterface: UInt16 = 5
        public static let payload: UInt16 = 9
        public static let prefix: UInt16 = 10
        public static let uid: UInt16 = 11
        public static let sequence: UInt16 = 12
        public static let globalSequence: UInt16 = 13
        public static let gid: UInt16 = 14
    }

    /// NFULA_CFG_* configuration attributes.
    public enum ConfigAttribute {
        public static let command: UInt16 = 1
        public static let mode: UInt16 = 2
        public static let bufferSize: UInt16 = 3
        public static let timeout: UInt16 = 4
        public static let queueThreshold: UInt16 = 5
        public static let flags: UInt16 = 6
    }

    /// NFULNL_CFG_CMD_*.
    public enum Command {
        public static let bind: UInt8 = 1
        public static let unbind: UInt8 = 2
    }

    /// The sequence number of the end-of-log marker: the ack of the UNBIND with
    /// which netnsd ends a cell's log (`NflogSocket.endLog`). "CLOG".
    public static let endOfLogSequence: UInt32 = 0x434C_4F47

    /// NFULNL_COPY_PACKET: copy (up to the copy range of) the packet itself.
    public static let copyPacket: UInt8 = 2
    /// NFULNL_CFG_F_SEQ | NFULNL_CFG_F_SEQ_GLOBAL.
    public static let sequenceFlags: UInt16 = 0x0001 | 0x0002
}

/// Where in the stack netfilter saw the packet (NF_INET_* hook numbers).
public enum NetfilterHook: UInt8, Sendable {
    case preRouting = 0, input = 1, forward = 2, output = 3, postRouting = 4

    /// The flow direction as seen from the cell.
    public var direction: String {
        switch self {
        case .preRouting, .input: "in"
        case .output, .postRouting: "out"
        case .forward: "forward"
        }
    }
}

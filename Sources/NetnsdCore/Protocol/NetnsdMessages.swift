#if canImport(IPCWire)
import IPCWire
#endif

/// `cellos-netnsd` request and reply types, in the 256–511 range IPCWire reserves
/// for netnsd. IPCWire's `MessageType`/`WireMessageRegistry` is a closed enum that
/// does not list them yet, so netnsd frames are built and decoded here
/// (`NetnsdFrame`); once IPCWire gains these cases the messages can conform to
/// `WireMessage` unchanged.
public enum NetnsdMessageType: UInt16, Sendable, CaseIterable {
    case createCell = 256
    case cellCreated = 257
    case destroyCell = 258
    case cellDestroyed = 259
    case readCounters = 260
    case countersReport = 261
}

/// A netnsd message: same encoding rules as `WireMessage` (strict decoding, named fields).
public protocol NetnsdMessage: Sendable, Equatable {
    static var netnsdType: NetnsdMessageType { get }
    var descriptorCount: Int { get }
    func encode(to writer: inout WireWriter)
    init(from reader: inout WireReader) throws(WireError)
}

extension NetnsdMessage {
    public var descriptorCount: Int { 0 }
}

/// Creates a cell: a new network namespace, or (with `attach`) the network
/// namespace whose descriptor travels with the request.
public struct CreateCell: NetnsdMessage {
    public static let netnsdType = NetnsdMessageType.createCell
    public var cellID: CellID
    public var policy: EgressPolicy
    public var attach: Bool

    public init(cellID: CellID, policy: EgressPolicy, attach: Bool = false) {
        self.cellID = cellID
        self.policy = policy
        self.attach = attach
    }

    public var descriptorCount: Int { attach ? 1 : 0 }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(attach)
        PolicyCoding.encode(policy, to: &writer)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        attach = try reader.readBool("attach")
        policy = try PolicyCoding.decode(from: &reader)
    }
}

/// The reply to `CreateCell`: the cell's descriptors, named in order
/// (`netns`, `dns-udp`, `dns-tcp`, and `nflog` when the cell has one).
public struct CellCreated: NetnsdMessage {
    public static let netnsdType = NetnsdMessageType.cellCreated
    public static let requiredNames = ["netns", "dns-udp", "dns-tcp"]
    public var cellID: CellID
    public var names: [String]

    public init(cellID: CellID, names: [String]) {
        self.cellID = cellID
        self.names = names
    }

    public var descriptorCount: Int { names.count }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(names)
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        names = try reader.readStrings("names", maxCount: 4)
        guard names == Self.requiredNames || names == Self.requiredNames + ["nflog"] else {
            throw .invalidField(field: "names", reason: "must be netns, dns-udp, dns-tcp[, nflog]")
        }
    }
}

/// Destroys one of the caller's cells. Idempotent for a cell this connection created.
public struct DestroyCell: NetnsdMessage {
    public static let netnsdType = NetnsdMessageType.destroyCell
    public var cellID: CellID

    public init(cellID: CellID) { self.cellID = cellID }

    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }

    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// The reply to `DestroyCell`.
public struct CellDestroyed: NetnsdMessage {
    public static let netnsdType = NetnsdMessageType.cellDestroyed
    public var cellID: CellID

    public init(cellID: CellID) { self.cellID = cellID }

    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }

    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// Asks for the per-rule packet/byte counters of one of the caller's cells.
public struct ReadCounters: NetnsdMessage {
    public static let netnsdType = NetnsdMessageType.readCounters
    public var cellID: CellID

    public init(cellID: CellID) { self.cellID = cellID }

    public func encode(to writer: inout WireWriter) { writer.write(cellID.value) }

    public init(from reader: inout WireReader) throws(WireError) { cellID = try CellIDCoding.read(&reader) }
}

/// The reply to `ReadCounters`: one entry per rule label in chain order.
public struct CountersReport: NetnsdMessage {
    public static let netnsdType = NetnsdMessageType.countersReport
    /// Allow rules plus the fixed labels (established, resolver, ndp, dns, default).
    public static let maxEntries = EgressPolicy.maxRules + 8

    public struct Entry: Equatable, Sendable {
        public var label: String
        public var packets: UInt64
        public var bytes: UInt64

        public init(label: String, packets: UInt64, bytes: UInt64) {
            self.label = label
            self.packets = packets
            self.bytes = bytes
        }
    }

    public var cellID: CellID
    public var entries: [Entry]

    public init(cellID: CellID, entries: [Entry]) {
        self.cellID = cellID
        self.entries = entries
    }

    public func encode(to writer: inout WireWriter) {
        writer.write(cellID.value)
        writer.write(UInt32(entries.count))
        for entry in entries {
            writer.write(entry.label)
            writer.write(entry.packets)
            writer.write(entry.bytes)
        }
    }

    public init(from reader: inout WireReader) throws(WireError) {
        cellID = try CellIDCoding.read(&reader)
        let count: UInt32 = try reader.read("entries")
        guard count <= UInt32(Self.maxEntries) else {
            throw .invalidField(field: "entries", reason: "\(count) entries exceed \(Self.maxEntries)")
        }
        // Each entry takes at least 4 + 8 + 8 bytes: check before allocating.
        guard Int(count) * 20 <= reader.remaining else { throw .truncatedPayload(field: "entries") }
        var entries: [Entry] = []
        for index in 0..<Int(count) {
            let label = try reader.readString("entries[\(index)].label", limit: 16)
            guard !label.isEmpty else { throw .invalidField(field: "entries[\(index)].label", reason: "empty") }
            let packets: UInt64 = try reader.read("entries[\(index)].packets")
            let bytes: UInt64 = try reader.read("entries[\(index)].bytes")
            entries.append(Entry(label: label, packets: packets, bytes: bytes))
        }
        self.entries = entries
    }
}

enum CellIDCoding {
    static func read(_ reader: inout WireReader) throws(WireError) -> CellID {
        let raw = try reader.readString("cell_id", limit: 64)
        do {
            return try CellID(raw)
        } catch {
            throw .invalidField(field: "cell_id", reason: CellID.rule)
        }
    }
}

/// The egress policy on the wire: resolver text, NFLOG group, log rate, then the
/// allow rules as text fields, each re-validated by the policy model on decode.
enum PolicyCoding {
    static func encode(_ policy: EgressPolicy, to writer: inout WireWriter) {
        writer.write(policy.resolver.description)
        writer.write(policy.nflogGroup)
        writer.write(policy.logRate.packetsPerSecond)
        writer.write(policy.logRate.burst)
        writer.write(UInt32(policy.allow.count))
        for rule in policy.allow {
            writer.write(rule.id)
            writer.write(rule.destination.description)
            writer.write(rule.transport.rawValue)
            writer.write(optional: rule.ports?.description)
        }
    }

    static func decode(from reader: inout WireReader) throws(WireError) -> EgressPolicy {
        do {
            let resolver = try ResolverAddress(parsing: try reader.readString("policy.resolver", limit: 64), field: "policy.resolver")
            let group: UInt16 = try reader.read("policy.nflog_group")
            let rate: UInt32 = try reader.read("policy.log_rate")
            let burst: UInt32 = try reader.read("policy.log_burst")
            let logRate = try FlowLogRateLimit(packetsPerSecond: rate, burst: burst)
            let count: UInt32 = try reader.read("policy.allow")
            guard count <= UInt32(EgressPolicy.maxRules) else {
                throw WireError.invalidField(field: "policy.allow", reason: "\(count) rules exceed \(EgressPolicy.maxRules)")
            }
            // Each rule takes at least 2 + 4 + 4 + 1 bytes: check before allocating.
            guard Int(count) * 11 <= reader.remaining else { throw WireError.truncatedPayload(field: "policy.allow") }
            var rules: [AllowRule] = []
            for index in 0..<Int(count) {
                let field = "policy.allow[\(index)]"
                let id: UInt16 = try reader.read("\(field).id")
                let destination = try reader.readString("\(field).destination", limit: 64)
                let transport = try reader.readString("\(field).protocol", limit: 8)
                let ports = try reader.readOptionalString("\(field).ports")
                guard (ports?.utf8.count ?? 0) <= 11 else {
                    throw WireError.invalidField(field: "\(field).ports", reason: "longer than 11 bytes")
                }
                rules.append(try AllowRule(id: id, destination: destination, transport: transport, ports: ports, field: field))
            }
            return try EgressPolicy(allow: rules, resolver: resolver, nflogGroup: group, logRate: logRate)
        } catch let error as WireError {
            throw error
        } catch let error as PolicyError {
            guard case .invalidField(let field, let value, let reason) = error else { throw .invalidField(field: "policy", reason: "\(error)") }
            throw .invalidField(field: field, reason: "'\(value)': \(reason)")
        } catch {
            throw .invalidField(field: "policy", reason: "\(error)")
        }
    }
}

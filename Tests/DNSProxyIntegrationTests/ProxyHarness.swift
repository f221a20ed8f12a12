import CellosTestLab
import Foundation
import IPCWire
import Testing

/// `cellos-dnsproxy` as the tests run it.
typealias RunningProxy = RunningHelper

extension RunningHelper {
    convenience init(_ arguments: [String], names: [String] = [], descriptors: borrowing DescriptorSet = DescriptorSet(),
                     asNobody: Bool = true, wrapper: [String] = []) throws {
        try self.init(binary: "cellos-dnsproxy", arguments, names: names, descriptors: descriptors, asNobody: asNobody, wrapper: wrapper)
    }

    /// The last stats line on standard error.
    func lastStats() throws -> [String: Int] {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("{\"type\":\"dnsproxy_stats\"") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw HarnessError("no stats line in stderr: \(stderr)") }
        return object.compactMapValues { $0 as? Int }
    }
}


/// DNS message bytes for the raw-socket tests.
enum Wire {
    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func query(id: UInt16, name: String, type: UInt16 = 1, flags: UInt16 = 0x0100, qdcount: UInt16 = 1) -> [UInt8] {
        be(id) + be(flags) + be(qdcount) + be(0) + be(0) + be(0) + Self.name(name) + be(type) + be(1)
    }

    static func answer(id: UInt16, question: ArraySlice<UInt8>, address: [UInt8], flags: UInt16 = 0x8180) -> [UInt8] {
        be(id) + be(flags) + be(1) + be(1) + be(0) + be(0) + Array(question)
            + [0xC0, 12] + be(1) + be(1) + [0, 0, 0, 60] + be(4) + address
    }

    static func be(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
}

import Foundation
import IPCWire
import Testing

/// The descriptor count of the whole process before and after many frames with
/// descriptors, including every error path that receives descriptors. The suite
/// runs with --no-parallel, so nothing else opens descriptors meanwhile.
@Suite struct LeakTests {
    @Test func tenThousandFramesLeakNothing() throws {
        let pair = try ConnectionPair()
        // Warm up lazily opened runtime descriptors before the baseline.
        try pair.first.send(DescriptorBundle(names: ["warm"]), requestID: 0, descriptors: try Descriptors.mixed(1))
        _ = try pair.second.receive()
        let before = try Descriptors.openCount()

        var failures = 0
        for round in 0..<10_000 {
            let count = round % 5
            switch round % 4 {
            case 0:  // valid frame, descriptors consumed by the receiver
                try pair.first.send(DescriptorBundle(names: (0..<count).map { "f\($0)" }), requestID: UInt32(round), descriptors: try Descriptors.mixed(count))
                var received = try pair.second.receive(DescriptorBundle.self)
                if count > 0 { received.descriptors.take(0).close() }
            case 1:  // more descriptors than declared
                try pair.first.send(rawFrame(fdCount: 0, payload: bundlePayload([]), descriptors: try Descriptors.mixed(count + 1)))
                do { _ = try pair.second.receive() } catch { failures += 1 }
            case 2:  // payload that does not decode, descriptors attached
                try pair.first.send(rawFrame(fdCount: count, payload: [0xFF], descriptors: try Descriptors.mixed(count)))
                do { _ = try pair.second.receive().decodeAny() } catch { failures += 1 }
            default:  // beyond the frame limit: some closed in the C shim, some in Swift
                let many = FrameHeader.maxDescriptors + 1 + count
                try pair.first.send(rawFrame(fdCount: many, payload: [], descriptors: try Descriptors.mixed(many)))
                do { _ = try pair.second.receive() } catch { failures += 1 }
            }
        }
        #expect(failures == 7_500)
        #expect(try Descriptors.openCount() == before)
    }
}

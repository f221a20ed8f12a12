/// Byte-exact ClientHellos for the parser tests, built the way RFC 8446 lays them out.
enum ClientHellos {
    static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }

    static func serverNameExtension(_ name: String) -> [UInt8] {
        let entry = [0] + u16(name.utf8.count) + Array(name.utf8)
        let list = u16(entry.count) + entry
        return u16(0) + u16(list.count) + list
    }

    static func extensionBlock(_ type: Int, _ data: [UInt8] = []) -> [UInt8] { u16(type) + u16(data.count) + data }

    /// The handshake message (type 1, 24-bit length) carrying `extensions`.
    static func message(extensions: [UInt8]?, padding: Int = 0) -> [UInt8] {
        var body: [UInt8] = [3, 3] + [UInt8](repeating: 0xAB, count: 32)
        body += [32] + [UInt8](repeating: 0x11, count: 32)  // session id
        body += u16(4) + [0x13, 0x01, 0x13, 0x02]  // cipher suites
        body += [1, 0]  // compression: null
        if var extensions {
            if padding > 0 { extensions += extensionBlock(21, [UInt8](repeating: 0, count: padding)) }
            body += u16(extensions.count) + extensions
        }
        return [1, UInt8(body.count >> 16 & 0xFF), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    /// `message` split into records of at most `recordSize` bytes.
    static func records(_ message: [UInt8], recordSize: Int = 16_384) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < message.count {
            let chunk = message[offset ..< min(offset + recordSize, message.count)]
            out += [22, 3, 1] + u16(chunk.count) + chunk
            offset += chunk.count
        }
        return out
    }

    static func withSNI(_ name: String, padding: Int = 0, recordSize: Int = 16_384) -> [UInt8] {
        records(message(extensions: serverNameExtension(name) + extensionBlock(43, [2, 3, 4]), padding: padding), recordSize: recordSize)
    }
}

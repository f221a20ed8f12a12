// Pure Swift (no C targets): compiled into the libFuzzer targets as well.

/// The request target's form (RFC 9112 §3.2).
public enum RequestTarget: Equatable, Sendable {
    /// `/path?query`: the server is named by `Host` (transparent HTTP).
    case origin
    /// `http://host[:port]/path`: an explicit proxy request; `path` is what the
    /// origin server is sent instead (origin form).
    case absolute(Authority, path: String)
    /// `host:port` of a CONNECT.
    case authority(Authority)
}

/// An HTTP/1.1 request head as far as the proxy needs it.
public struct HTTPRequestHead: Equatable, Sendable {
    public var method: String
    public var target: RequestTarget
    /// The `Host` header, when present (at most one is accepted).
    public var host: Authority?
    /// Bytes of the head up to and including the blank line.
    public var length: Int
    /// Byte range of the request target in the head (replaced when forwarding an absolute-form request).
    public var targetRange: Range<Int>
}

public enum HTTPHeadResult: Equatable, Sendable {
    case needMore
    case complete(HTTPRequestHead)
    case malformed(HTTPHeadMalformation)
}

public enum HTTPHeadMalformation: String, Error, Equatable, Sendable {
    case tooLarge = "header_too_large"
    case badRequestLine = "bad_request_line"
    case badVersion = "bad_version"
    case badTarget = "bad_target"
    case badHeader = "bad_header"
    case duplicateHost = "duplicate_host"
    case badHost = "bad_host"
    case missingHost = "missing_host"
}

/// A strict HTTP/1.1 request-head parser (RFC 9112): request line, header
/// fields, CRLF line ends only, no obsolete line folding, token methods, one
/// `Host`. Like the ClientHello parser it is stateless over the bytes read so
/// far; a head without its blank line within `maxHeadLength` bytes is too large.
public enum HTTPRequestParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxHeadLength: Int = 8192) -> HTTPHeadResult {
        guard let end = headEnd(bytes, limit: maxHeadLength) else {
            return bytes.count >= maxHeadLength ? .malformed(.tooLarge) : .needMore
        }
        var lines: [Range<Int>] = []
        var start = 0
        var index = 0
        while index + 1 < end {
            if bytes[index] == UInt8(ascii: "\r") {
                guard bytes[index + 1] == UInt8(ascii: "\n") else { return .malformed(.badHeader) }
                lines.append(start ..< index)
                index += 2
                start = index
                continue
            }
            // A bare LF or CR is a line end some servers accept and others do not: refused.
            guard bytes[index] != UInt8(ascii: "\n") else { return .malformed(.badHeader) }
            index += 1
        }
        guard let requestLine = lines.first, !requestLine.isEmpty else { return .malformed(.badRequestLine) }
        let line = Array(bytes[requestLine])
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else { return .malformed(.badRequestLine) }
        guard parts[2].elementsEqual("HTTP/1.1".utf8) || parts[2].elementsEqual("HTTP/1.0".utf8) else {
            return .malformed(.badVersion)
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let targetStart = requestLine.lowerBound + parts[0].count + 1
        let targetRange = targetStart ..< targetStart + parts[1].count
        guard let target = requestTarget(method: method, Array(parts[1])) else { return .malformed(.badTarget) }

        var host: Authority?
        // The last line is the blank one that ends the head.
        for field in lines.dropFirst().dropLast() {
            let bytesOfField = Array(bytes[field])
            guard let colon = bytesOfField.firstIndex(of: UInt8(ascii: ":")), colon > 0,
                  bytesOfField[..<colon].allSatisfy(isTokenByte) else { return .malformed(.badHeader) }
            guard bytesOfField[(colon + 1)...].allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                return .malformed(.badHeader)
            }
            guard lowercased(bytesOfField[..<colon]) == Array("host".utf8) else { continue }
            guard host == nil else { return .malformed(.duplicateHost) }
            let value = trimmed(bytesOfField[(colon + 1)...])
            guard let authority = Authority.parse(value) else { return .malformed(.badHost) }
            host = authority
        }
        // HTTP/1.1 requires Host (RFC 9112 §3.2); origin form has nothing else naming the server.
        if case .origin = target, host == nil { return .malformed(.missingHost) }
        return .complete(HTTPRequestHead(method: method, target: target, host: host, length: end, targetRange: targetRange))
    }

    /// Index just past the first CRLF CRLF within `limit` bytes.
    static func headEnd(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Int? {
        let count = min(bytes.count, limit)
        guard count >= 4 else { return nil }
        for index in 3 ..< count where bytes[index] == UInt8(ascii: "\n") && bytes[index - 1] == UInt8(ascii: "\r")
            && bytes[index - 2] == UInt8(ascii: "\n") && bytes[index - 3] == UInt8(ascii: "\r") {
            return index + 1
        }
        return nil
    }

    static func requestTarget(method: String, _ target: [UInt8]) -> RequestTarget? {
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if method == "CONNECT" {
            // CONNECT names host and port, always both (RFC 9110 §9.3.6).
            guard let authority = Authority.parse(target), authority.port != nil else { return nil }
            return .authority(authority)
        }
        if target.first == UInt8(ascii: "/") { return .origin }
        let scheme = Array("http://".utf8)
        guard target.count > scheme.count, lowercased(target[..<scheme.count]) == scheme else { return nil }
        let rest = target[scheme.count...]
        let authorityEnd = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") }) ?? rest.endIndex
        // Userinfo (`user@host`) hides the host from a naive reader: refused.
        guard !rest[..<authorityEnd].contains(UInt8(ascii: "@")), let authority = Authority.parse(rest[..<authorityEnd]) else {
            return nil
        }
        var path = String(decoding: rest[authorityEnd...], as: UTF8.self)
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        return .absolute(authority, path: path)
    }

    /// tchar of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func lowercased(_ bytes: some Collection<UInt8>) -> [UInt8] {
        bytes.map { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) ? $0 | 0x20 : $0 }
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice
    }
}

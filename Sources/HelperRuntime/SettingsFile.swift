/// Settings for an executable's flags from `KEY=VALUE` pairs: netnsd's come from
/// its environment (`/etc/cellos/netnsd.conf`, the unit's `EnvironmentFile=`), the
/// broker's from `/etc/cellos/broker.conf`, read directly so runs by hand get them
/// too. `PREFIX_UPLINK_POOL=…` stands for `--uplink-pool …`. A flag on the command
/// line wins over its setting, a setting over the built-in default; a key under
/// the prefix that names no flag is an error naming the key.
public struct SettingsFile: Sendable {
    /// e.g. `CELLOS_NETNSD_`.
    public let prefix: String
    /// Long names of options that take values; a setting's words become one `--name word` each.
    public let options: [String]
    /// Long names of boolean flags: `yes`/`true`/`1` adds `--name`, `no`/`false`/`0` nothing.
    public let flags: [String]

    public init(prefix: String, options: [String], flags: [String] = []) {
        self.prefix = prefix
        self.options = options
        self.flags = flags
    }

    /// The key that stands for `--name`.
    public func key(for name: String) -> String {
        prefix + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// The arguments the settings in `pairs` add for flags absent from `commandLine`.
    public func arguments(from pairs: [(key: String, value: String)], commandLine: [String], source: String) throws(SettingsError) -> [String] {
        let given = Set(commandLine.prefix { $0 != "--" }.compactMap { argument -> String? in
            guard argument.hasPrefix("--") else { return nil }
            return String(argument.dropFirst(2).prefix { $0 != "=" })
        })
        var added: [String] = []
        for (key, value) in pairs where key.hasPrefix(prefix) {
            let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let name = options.first(where: { self.key(for: $0) == key }) {
                guard !given.contains(name) else { continue }
                for word in words { added += ["--\(name)", word] }
            } else if let name = flags.first(where: { self.key(for: $0) == key }) {
                guard !given.contains(name) else { continue }
                switch value.lowercased() {
                case "yes", "true", "1": added.append("--\(name)")
                case "no", "false", "0", "": break
                default: throw .badBoolean(key: key, value: value, source: source)
                }
            } else {
                throw .unknownKey(key: key, source: source, known: (options + flags).map(self.key(for:)))
            }
        }
        return added
    }

    /// `KEY=VALUE` lines as systemd's `EnvironmentFile=` reads them: blank lines and
    /// `#`/`;` comments skipped, one pair of surrounding quotes removed.
    public static func parse(_ text: String, source: String) throws(SettingsError) -> [(key: String, value: String)] {
        var pairs: [(key: String, value: String)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else { throw .malformedLine(source: source, line: index + 1) }
            var value = line[line.index(after: equals)...].trimmingWhitespace()
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first { value = value.dropFirst().dropLast() }
            pairs.append((String(line[..<equals].trimmingWhitespace()), String(value)))
        }
        return pairs
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> SubSequence {
        let start = firstIndex { $0 != " " && $0 != "\t" && $0 != "\r" } ?? endIndex
        let end = lastIndex { $0 != " " && $0 != "\t" && $0 != "\r" }.map(index(after:)) ?? start
        return self[start..<Swift.max(start, end)]
    }
}

public enum SettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownKey(key: String, source: String, known: [String])
    case badBoolean(key: String, value: String, source: String)
    case malformedLine(source: String, line: Int)

    public var description: String {
        switch self {
        case .unknownKey(let key, let source, let known): "\(source): unknown setting \(key) (known: \(known.joined(separator: ", ")))"
        case .badBoolean(let key, let value, let source): "\(source): \(key)=\(value) is not yes or no"
        case .malformedLine(let source, let line): "\(source): line \(line) is not KEY=VALUE"
        }
    }
}

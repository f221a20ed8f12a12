#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The daemon's resource caps (`--max-connections`, `--max-cells-per-connection`,
/// `--max-cells`). Each one reached refuses the request with `limit_exceeded`
/// naming the flag and its value; everything else goes on being served.
public struct NetnsdLimits: Sendable, Equatable {
    /// Client connections served at once; each costs a thread and two descriptors.
    public var maxConnections: Int
    /// Live cells one connection may hold.
    public var maxCellsPerConnection: Int
    /// Live cells across all connections: each costs a netns and ~5 descriptors.
    public var maxCells: Int

    public static let defaults = NetnsdLimits(maxConnections: 64, maxCellsPerConnection: 256, maxCells: 1024)
    /// What the flags accept (bounded so a typo cannot ask for a million threads).
    public static let connectionRange = 1...4096
    public static let cellRange = 1...65536

    public init(maxConnections: Int, maxCellsPerConnection: Int, maxCells: Int) {
        self.maxConnections = maxConnections
        self.maxCellsPerConnection = maxCellsPerConnection
        self.maxCells = maxCells
    }

    /// The first problem with these values, naming the flag; nil when valid.
    public var problem: String? {
        if !Self.connectionRange.contains(maxConnections) {
            return "--max-connections \(maxConnections) is outside \(Self.connectionRange.lowerBound)-\(Self.connectionRange.upperBound)"
        }
        if !Self.cellRange.contains(maxCellsPerConnection) {
            return "--max-cells-per-connection \(maxCellsPerConnection) is outside \(Self.cellRange.lowerBound)-\(Self.cellRange.upperBound)"
        }
        if !Self.cellRange.contains(maxCells) {
            return "--max-cells \(maxCells) is outside \(Self.cellRange.lowerBound)-\(Self.cellRange.upperBound)"
        }
        if maxCellsPerConnection > maxCells {
            return "--max-cells-per-connection \(maxCellsPerConnection) exceeds --max-cells \(maxCells)"
        }
        return nil
    }
}

/// The live-cell count shared by every connection (`--max-cells`).
public final class CellBudget: Sendable {
    public let limit: Int
    private let live = Mutex(0)

    public init(limit: Int) { self.limit = limit }

    public var count: Int { live.withLock { $0 } }

    /// Takes one cell from the budget; false (nothing taken) when it is spent.
    func reserve() -> Bool {
        live.withLock { live in
            guard live < limit else { return false }
            live += 1
            return true
        }
    }

    func release() { live.withLock { $0 -= 1 } }
}

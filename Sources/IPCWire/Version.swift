/// The suite's version, shared by every executable's `--version`.
public enum CellosVersion {
    public static let string = "0.1.0"
}

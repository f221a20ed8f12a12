/// The NFLOG prefixes the cell's ruleset attaches to logged packets: verdict and
/// rule label, e.g. `cellos-flow accept r2`, `cellos-flow drop dns`,
/// `cellos-flow drop default`. The flow log reads the same strings back.
public enum FlowLogPrefix {
    public static let stem = "cellos-flow"

    public static func accept(_ label: String) -> String { "\(stem) accept \(label)" }
    public static func drop(_ label: String) -> String { "\(stem) drop \(label)" }
}

import CellosTestLab

/// The built `cellos-netnsd` (see `BuiltProducts`).
enum BuiltExecutable {
    static var netnsd: String {
        BuiltProducts.directory.appendingPathComponent("cellos-netnsd").path
    }
}

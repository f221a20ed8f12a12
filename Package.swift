// swift-tools-version:6.0
//
// cellos: small Linux executables that run untrusted workloads in execution cells.
// Each executable is a thin ArgumentParser front end over a core library target
// that its tests exercise directly. C appears only where Swift cannot reach:
// CMSG macros and fork/exec plumbing (CShim) and the system libraries below.
import PackageDescription

/// A system library found through pkg-config, with the Debian package that provides it.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "cellos",
    products: [
        .executable(name: "cellos-broker", targets: ["cellos-broker"]),
        .executable(name: "cellos-netnsd", targets: ["cellos-netnsd"]),
        .executable(name: "cellos-dnsproxy", targets: ["cellos-dnsproxy"]),
        .executable(name: "cellos-flowlog", targets: ["cellos-flowlog"]),
        .executable(name: "cellos-egressproxy", targets: ["cellos-egressproxy"]),
        .library(name: "IPCWire", targets: ["IPCWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C glue for what Swift cannot express, shared by every target: CMSG_* macros,
        // SO_PEERCRED's ucred, prctl, signalfd, epoll, getrandom, accept4, and an
        // async-signal-safe fork/exec that places fds at 3.. .
        .target(name: "CShim"),
        systemLibrary("CSeccomp", pkgConfig: "libseccomp", apt: "libseccomp-dev"),
        systemLibrary("CNftables", pkgConfig: "libnftables", apt: "libnftables-dev"),
        systemLibrary("CMnl", pkgConfig: "libmnl", apt: "libmnl-dev"),
        systemLibrary("CCap", pkgConfig: "libcap", apt: "libcap-dev"),
        // Ed25519 and SHA-256 for the broker's event signing (OpenSSL 3).
        systemLibrary("CLibcrypto", pkgConfig: "libcrypto", apt: "libssl-dev"),

        // The one library every process shares: framing, fd passing, credentials,
        // socket activation, readiness.
        .target(name: "IPCWire", dependencies: ["CShim"]),
        // Thread-confined setns/unshare: run code inside a network namespace.
        .target(name: "NetworkNamespaces", dependencies: ["IPCWire", "CShim"]),

        // What the helpers and the broker's audit share about their own process:
        // /proc/<pid>/status, the refusal to run with capabilities, the seccomp
        // allowlist installer, the signalfd watch, the --print-capabilities format.
        .target(name: "HelperRuntime", dependencies: ["IPCWire", "CShim", "CSeccomp"]),

        // Per-executable logic, testable without the executable.
        .target(name: "BrokerCore", dependencies: ["IPCWire", "CShim", "HelperRuntime", "CLibcrypto"]),
        .target(name: "NetnsdCore", dependencies: ["IPCWire", "NetworkNamespaces", "CCap", "CMnl", "CNftables", "CSeccomp", "CNetnsdShim", "CShim", "HelperRuntime", "FlowlogCore"]),
        .target(name: "DNSProxyCore", dependencies: ["IPCWire", "CShim", "CDNSProxyShim", "HelperRuntime"]),
        .target(name: "FlowlogCore", dependencies: ["IPCWire", "NetworkNamespaces", "CMnl", "CCap", "CShim", "HelperRuntime"]),
        // cellos-egressproxy: SNI/Host parsing, the name rules (DNSProxyCore's patterns), the relay.
        .target(name: "EgressProxyCore", dependencies: ["IPCWire", "CShim", "HelperRuntime", "DNSProxyCore"]),

        // --log-format, the one command-line option all four executables share.
        .target(name: "CellosOptions", dependencies: ["HelperRuntime", argumentParser]),

        .executableTarget(name: "cellos-broker", dependencies: ["BrokerCore", "HelperRuntime", "CellosOptions", argumentParser]),
        // cellos-netnsd opens each cell's NFLOG socket with FlowlogCore's NflogSocket.
        .executableTarget(name: "cellos-netnsd", dependencies: ["NetnsdCore", "FlowlogCore", "HelperRuntime", "CellosOptions", argumentParser]),
        .executableTarget(name: "cellos-dnsproxy", dependencies: ["DNSProxyCore", "HelperRuntime", "CellosOptions", argumentParser]),
        .executableTarget(name: "cellos-flowlog", dependencies: ["FlowlogCore", "HelperRuntime", "CellosOptions", argumentParser]),
        .executableTarget(name: "cellos-egressproxy", dependencies: ["EgressProxyCore", "HelperRuntime", "CellosOptions", argumentParser]),

        // Network-namespace test lab for integration tests (shells out to `ip`; tests only).
        .target(name: "CellosTestLab", dependencies: ["IPCWire", "NetworkNamespaces"]),

        // A socket-activated child process the IPCWire tests spawn and inspect.
        .executableTarget(name: "cellos-test-child", dependencies: ["IPCWire"], path: "Tests/Support/cellos-test-child"),

        .testTarget(name: "IPCWireTests", dependencies: ["IPCWire", "NetworkNamespaces", "CellosTestLab", "cellos-test-child"]),
        .testTarget(name: "CellosTestLabTests", dependencies: ["CellosTestLab", "NetworkNamespaces", "IPCWire"]),
        .testTarget(name: "HelperRuntimeTests", dependencies: ["HelperRuntime", "CShim", "IPCWire"]),
        .testTarget(name: "SystemLibraryTests", dependencies: ["CCap", "CMnl", "CNftables", "CSeccomp"]),
        .testTarget(
            name: "ExecutableTests",
            dependencies: ["CellosTestLab", "IPCWire", "cellos-broker", "cellos-netnsd", "cellos-dnsproxy", "cellos-flowlog"]),
        .testTarget(name: "FlowlogCoreTests", dependencies: ["FlowlogCore", "HelperRuntime", "CellosTestLab", "NetworkNamespaces", "cellos-flowlog"]),
        .testTarget(
            name: "BrokerCoreTests",
            dependencies: [
                "BrokerCore", "HelperRuntime", "CellosTestLab", "IPCWire", "cellos-test-child", "cellos-broker",
                // Their --print-capabilities output is checked against the audit's parser.
                "cellos-netnsd", "cellos-dnsproxy", "cellos-flowlog", "cellos-egressproxy",
            ]),

        // cellos-dnsproxy: recvmmsg/sendmmsg batching (struct mmsghdr is _GNU_SOURCE-only).
        .target(name: "CDNSProxyShim"),
        .testTarget(name: "DNSProxyCoreTests", dependencies: ["DNSProxyCore", "CShim"]),
        .testTarget(name: "EgressProxyCoreTests", dependencies: ["EgressProxyCore", "DNSProxyCore", "IPCWire", "CellosTestLab", "cellos-egressproxy"]),
        .testTarget(
            name: "DNSProxyIntegrationTests", dependencies: ["DNSProxyCore", "IPCWire", "CellosTestLab", "cellos-dnsproxy"]),

        // cellos-netnsd: the parked workload's fork-to-execve setup, rtnetlink structures
        // and the ioctls Swift cannot call (variadic).
        .target(name: "CNetnsdShim"),
        .testTarget(
            name: "NetnsdCoreTests",
            dependencies: ["NetnsdCore", "FlowlogCore", "HelperRuntime", "NetworkNamespaces", "IPCWire", "CellosTestLab", "cellos-netnsd"]),
    ]
)

// `cellos-broker run` end to end in a lab with real netnsd, dnsproxy, flowlog, dnsmasq.
package.targets.append(.testTarget(
    name: "BrokerEndToEndTests",
    dependencies: ["CellosTestLab", "IPCWire", "cellos-broker", "cellos-netnsd", "cellos-dnsproxy", "cellos-flowlog", "cellos-egressproxy"],
    // The escape suite's attack programs: read by the tests and run in cells, not compiled.
    exclude: ["Attacks"]))

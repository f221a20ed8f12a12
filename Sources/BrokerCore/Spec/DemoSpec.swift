/// The spec `cellos-broker demo` runs when given none. Its lab (built by the demo)
/// has an "internet" namespace at 192.0.2.0/24 (TEST-NET-1, never routed) with an
/// authoritative DNS server at 192.0.2.53 and a TCP service at 192.0.2.80 on ports
/// 8080 (allowed below) and 9090 (not allowed). The workload resolves one allowed
/// and one denied name and tries both ports (bash: its /dev/tcp makes the connections;
/// `timeout 2`, since a dropped SYN is retried until the connect times out). Ids,
/// PID namespace and workspace are the defaults: netnsd's own ids for the cell.
public enum DemoSpec {
    public static let text = """
        {
          "version": 1,
          "id": "demo",
          "argv": ["/bin/bash", "-c", "getent hosts allowed.cellos.test; echo \\"allowed name: exit $?\\"; getent hosts denied.cellos.test; echo \\"denied name: exit $?\\"; timeout 2 bash -c 'echo hi > /dev/tcp/192.0.2.80/8080' 2>/dev/null; echo \\"allowed port 8080: exit $?\\"; timeout 2 bash -c 'echo hi > /dev/tcp/192.0.2.80/9090' 2>/dev/null; echo \\"denied port 9090: exit $?\\""],
          "env": {"PATH": "/usr/bin:/bin"},
          "limits": {"memory": "64M", "pids": 32, "cpu_percent": 50, "open_files": 256},
          "timeout": "10s",
          "grace": "1s",
          "dns": {"allow": ["allowed.cellos.test"], "query_types": ["A", "AAAA"], "upstream": "192.0.2.53:53"},
          "egress": [{"protocol": "tcp", "address": "192.0.2.80", "port": 8080}],
          "flow_log": true
        }
        """

    public static func spec() -> CellSpec {
        // The embedded text is part of the program; a failure here is a build defect.
        do { return try CellSpecDecoder.decode(Array(text.utf8)) } catch { fatalError("embedded demo spec is invalid: \(error)") }
    }
}

// A socket-activated child for IPCWire's tests. It does what a cellos helper does
// at startup (parse LISTEN_*, take the readiness notifier) and writes what it
// found to the file named by its first argument, one line per descriptor:
//   <name> <fd> <dev> <ino> <cloexec 0|1>
// followed by `open <fd list>` (every descriptor open in the child). Its second
// argument picks the readiness behaviour: ready | exit-before-ready | hang, or
// `connect=PATH`: connect to an IPCWire listener at PATH and hold the connection.
#if canImport(Glibc)
import Glibc
#endif
import IPCWire

func fail(_ message: String, status: Int32) -> Never {
    let bytes = Array((message + "\n").utf8)
    _ = write(2, bytes, bytes.count)
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    fail("usage: cellos-test-child REPORT-PATH ready|exit-before-ready|hang", status: 2)
}
var lines: [String] = []
do {
    if var inherited = try InheritedDescriptors.fromProcess() {
        for name in inherited.names {
            let fd = try inherited.take(name)
            let identity = try fd.identity()
            lines.append("\(name) \(fd.rawValue) \(identity.device) \(identity.inode) \(try fd.isCloseOnExec() ? 1 : 0)")
            _ = fd.release()  // keep them open so `open` below lists them
        }
    }
    let notifier = try Readiness.notifierFromProcess()
    var open: [Int32] = []
    if let dir = opendir("/proc/self/fd") {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != dirfd(dir) { open.append(fd) }
        }
        closedir(dir)
    }
    lines.append("open " + open.sorted().map(String.init).joined(separator: ","))
    let report = lines.joined(separator: "\n") + "\n"
    let file = fopen(arguments[1], "w")
    fputs(report, file)
    fclose(file)
    if arguments[2].hasPrefix("connect=") {
        let connection = try SeqpacketConnection.connect(path: String(arguments[2].dropFirst("connect=".count)))
        sleep(10)
        _ = connection
        exit(0)
    }
    switch arguments[2] {
    case "ready":
        notifier?.status("reported \(lines.count - 1) descriptors")
        notifier?.ready()
    case "exit-before-ready":
        notifier?.status("giving up before ready")
        exit(3)
    default:
        notifier?.status("hanging")
        sleep(30)
    }
} catch {
    fail("cellos-test-child: \(error)", status: 1)
}

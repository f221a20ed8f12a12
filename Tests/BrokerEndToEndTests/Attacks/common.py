# Shared by every attack: the test runs common.py + attack.py in a default cell
# (`python3 -c BOOTSTRAP N CHUNK... JSON`, EscapeLab.swift), so the attack needs nothing mounted in (it tests that feature).
# The JSON argument: "cell" (a cell id whose helpers to find), "marker" (a string in
# a target workload's argv), "hints" (host pids, what a brute-force guess would hit),
# plus attack-specific fields. Each attack ends with one line
# `ATTACK <name> ESCAPED|blocked <detail>`; the test checks it and host-side evidence.
import atexit, ctypes, errno, json, os, socket, sys, time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
ARGS = json.loads(sys.argv[-1]) if len(sys.argv) > 1 else {}
# "linger": seconds to stay alive at the end, so the test can look at the workload
# from the host (its status, its namespaces) before it is gone.
atexit.register(lambda: time.sleep(ARGS.get("linger", 0)))
HELPERS = ("cellos-dnsproxy", "cellos-flowlog", "cellos-broker", "cellos-netnsd")


def report(name, escaped, detail):
    print("ATTACK %s %s %s" % (name, "ESCAPED" if escaped else "blocked", detail or "-"), flush=True)


def ename(code):
    return errno.errorcode.get(code, str(code))


def syscall(number, *args):
    """(result, errno name or None): the raw system call, as seccomp sees it."""
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    return result, (ename(ctypes.get_errno()) if result < 0 else None)


def processes():
    """(pid, comm, argv) of every process this /proc shows, the workload's own excepted."""
    seen = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/comm" % name) as f:
                comm = f.read().strip()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        seen.append((int(name), comm, argv))
    return seen


def targets(kinds=("cellos-dnsproxy", "cellos-flowlog", "cellos-broker")):
    """pids to attack: helpers of ARGS["cell"] found by comm and --cell-id/--id, the
    workload carrying ARGS["marker"], and the test's hints (kept only if they exist here)."""
    cell, marker = ARGS.get("cell"), ARGS.get("marker")
    found = set()
    for pid, comm, argv in processes():
        named = any(a in ("--cell-id", "--id") and b == cell for a, b in zip(argv, argv[1:]))
        if (comm in kinds and named) or (marker and marker in argv):
            found.add(pid)
    for pid in ARGS.get("hints", []):
        if pid != os.getpid() and os.path.exists("/proc/%d" % pid):
            found.add(pid)
    return sorted(found)


def describe(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return "%d:%s" % (pid, f.read().strip())
    except OSError:
        return "%d:?" % pid

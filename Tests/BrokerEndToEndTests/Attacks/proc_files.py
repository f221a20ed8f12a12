# Row "read /proc/<helper>/fd and environ".
leaks, failures = [], []
found = targets()
for pid in found:
    try:
        links = [os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in os.listdir("/proc/%d/fd" % pid)]
        leaks.append("%s:fd=%s" % (describe(pid), ",".join(links)))
    except OSError as e:
        failures.append("%s:fd:%s" % (describe(pid), ename(e.errno)))
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            leaks.append("%s:environ=%s" % (describe(pid), f.read().replace(b"\0", b" ").decode(errors="replace")))
    except OSError as e:
        failures.append("%s:environ:%s" % (describe(pid), ename(e.errno)))
for leak in leaks:
    print("LEAK " + leak, flush=True)
report("proc_files", bool(leaks), ("leaks=%d" % len(leaks)) if leaks else (" ".join(failures) if found else "no target visible"))

# Row "ptrace a helper": PTRACE_ATTACH to the own cell's helpers and broker (the test
# reads their TracerPid from the host while it lingers).
attached, failures = [], []
found = targets()
for pid in found:
    result, error = syscall(101, 16, pid, 0, 0)  # ptrace(PTRACE_ATTACH, pid)
    if result == 0:
        attached.append(describe(pid))
    else:
        failures.append("%s:%s" % (describe(pid), error))
report("ptrace", bool(attached), ("attached=" + ",".join(attached)) if attached else (" ".join(failures) if found else "no target visible"))

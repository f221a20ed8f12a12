# Row "capability sets": every set of the workload empty. Lingers so the test can
# read the same from the host's /proc.
with open("/proc/self/status") as f:
    status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
sets = [(name, status[name].strip()) for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
report("capabilities", any(int(value, 16) for _, value in sets), " ".join("%s=%s" % s for s in sets))
time.sleep(ARGS.get("linger", 0))

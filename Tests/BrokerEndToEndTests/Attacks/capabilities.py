# Row "capability sets": every set of the workload empty (the test reads the same
# from the host's /proc while it lingers).
with open("/proc/self/status") as f:
    status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
sets = [(name, status[name].strip()) for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
report("capabilities", any(int(value, 16) for _, value in sets), " ".join("%s=%s" % s for s in sets))

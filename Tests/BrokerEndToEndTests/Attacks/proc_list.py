# Row "list /proc": what of the host's processes can the workload see?
seen = processes()
for pid, comm, argv in seen:
    print("SEEN %d %s %s" % (pid, comm, " ".join(argv)[:160]), flush=True)
marker, init = ARGS.get("marker"), ARGS.get("host_init")
foreign = [describe(pid) for pid, comm, argv in seen if comm in HELPERS or comm == init or (marker and marker in argv)]
report("proc_list", bool(foreign), ",".join(foreign) or "only its own %d process(es)" % len(seen))

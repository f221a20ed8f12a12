# Row "write into the host's /tmp, /var/tmp, /dev/shm". The test put a canary file in
# each on the host: seeing it means this is the host's directory, not a private one.
seen, wrote, failures = [], [], []
for directory in ("/tmp", "/var/tmp", "/dev/shm"):
    if os.path.exists(os.path.join(directory, ARGS["canary"])):
        seen.append(directory)
    try:
        with open(os.path.join(directory, ARGS["name"]), "w") as f:
            f.write("written from a cell\n")
        wrote.append(directory)
    except OSError as e:
        failures.append("%s:%s" % (directory, ename(e.errno)))
detail = "host_canary_in=%s wrote=%s %s" % (",".join(seen) or "none", ",".join(wrote) or "none", " ".join(failures))
report("tmp_write", bool(seen), detail.strip())

# Row "create files in /etc".
try:
    with open("/etc/" + ARGS["name"], "w") as f:
        f.write("written from a cell\n")
    report("etc_write", True, "created /etc/" + ARGS["name"])
except OSError as e:
    report("etc_write", False, "open:%s" % ename(e.errno))

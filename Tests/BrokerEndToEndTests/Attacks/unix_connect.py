# Row "connect() to a host UNIX socket by path".
hits, failures = [], []
for path in ARGS["paths"]:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        client.sendall(b"cellos-escape\n")
        hits.append(path)
    except OSError as e:
        failures.append("%s:%s" % (path, ename(e.errno)))
    finally:
        client.close()
report("unix_connect", bool(hits), ("connected=" + ",".join(hits)) if hits else " ".join(failures))

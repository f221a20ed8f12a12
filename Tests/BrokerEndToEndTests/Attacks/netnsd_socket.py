# Row "connect to netnsd's control socket": refused by the path (not in the view, or
# its mode) or, once connected, by SO_PEERCRED: netnsd then sends its refusal at
# once, while an admitted client would hear nothing before its first request.
client = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    client.connect(ARGS["socket"])
except OSError as e:
    report("netnsd_socket", False, "connect:%s" % ename(e.errno))
else:
    client.settimeout(2)
    try:
        reply = client.recv(65536)
        report("netnsd_socket", False, "refused after connect (%d bytes)" % len(reply))
    except socket.timeout:
        report("netnsd_socket", True, "connected and admitted")
    except OSError as e:
        report("netnsd_socket", False, "recv:%s" % ename(e.errno))

# Row "AF_PACKET": raw link-layer sockets (sniffing, spoofing) need CAP_NET_RAW.
opened, failures = [], []
for kind in (socket.SOCK_RAW, socket.SOCK_DGRAM):
    try:
        socket.socket(socket.AF_PACKET, kind, socket.htons(0x0003)).close()  # ETH_P_ALL
        opened.append(str(kind))
    except OSError as e:
        failures.append("%s:%s" % (kind.name, ename(e.errno)))
report("af_packet", bool(opened), ("opened=" + ",".join(opened)) if opened else " ".join(failures))

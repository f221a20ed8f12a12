# Rows "kill": SIGSTOP the targets, then check that the cell's resolver still answers.
import signal

def dns_probe(name="probe.cellos.test"):
    """The rcode of an A query to the cell's resolver, or why there was none."""
    with open("/etc/resolv.conf") as f:
        server = [l.split()[1] for l in f if l.startswith("nameserver")][0]
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00\x00\x01\x00\x01"
    probe = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    probe.settimeout(3)
    try:
        probe.sendto(query, (server, 53))
        answer = probe.recv(512)
        return "answered rcode=%d" % (answer[3] & 0x0F)
    except OSError as e:
        return "silent %s" % (ename(e.errno) if e.errno else "timeout")
    finally:
        probe.close()

hit, failures = [], []
found = targets(ARGS.get("kinds", ("cellos-dnsproxy", "cellos-flowlog", "cellos-broker")))
for pid in found:
    try:
        os.kill(pid, getattr(signal, ARGS.get("signal", "SIGSTOP")))
        hit.append(describe(pid))
    except OSError as e:
        failures.append("%s:%s" % (describe(pid), ename(e.errno)))
time.sleep(ARGS.get("hold", 0.5))
if ARGS.get("probe_dns"):
    print("PROBE dns " + dns_probe(), flush=True)
detail = ("signalled=" + ",".join(hit)) if hit else (" ".join(failures) if found else "no target visible")
report("kill", bool(hit), detail)

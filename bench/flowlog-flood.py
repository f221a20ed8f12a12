#!/usr/bin/env python3
"""Sends COUNT UDP datagrams to ADDRESS:PORT as fast as one socket can and prints
the achieved rate. A drop verdict makes sendto fail with EPERM after the packet
was logged, which is expected here."""
import socket
import sys
import time

count, address, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 45000))
payload = b"x" * 32
start = time.monotonic()
for _ in range(count):
    try:
        sock.sendto(payload, (address, port))
    except PermissionError:
        pass
elapsed = time.monotonic() - start
print(f"flood: {count} packets in {elapsed:.3f} s ({count / elapsed:,.0f} packets/s)")

# Row "read a helper's memory": process_vm_readv of the top of its stack (the environment).
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("length", ctypes.c_size_t)]

granted, failures = [], []
found = targets()
for pid in found:
    # Where its stack is, if /proc says; otherwise a guess: the access check comes
    # before the address is looked at, so EFAULT still means "allowed".
    top, size = 0x7FFFFFFFF000, 1 << 16
    try:
        with open("/proc/%d/maps" % pid) as f:
            stack = [l for l in f.read().splitlines() if l.endswith("[stack]")][0]
        top = int(stack.split()[0].split("-")[1], 16)
    except (OSError, IndexError) as e:
        failures.append("%s:maps:%s" % (describe(pid), ename(getattr(e, "errno", 0) or 0)))
    buffer = ctypes.create_string_buffer(size)
    local = iovec(ctypes.cast(buffer, ctypes.c_void_p), size)
    remote = iovec(top - size, size)
    count, error = syscall(310, pid, ctypes.addressof(local), 1, ctypes.addressof(remote), 1, 0)
    if count > 0 or error == "EFAULT":
        granted.append("%s:%s" % (describe(pid), ("read=%d" % count) if count > 0 else "EFAULT"))
        start = buffer.raw.find(b"LISTEN_FDNAMES=")
        if start >= 0:
            print("LEAK " + buffer.raw[start:buffer.raw.find(b"\0", start)].decode(errors="replace"), flush=True)
    else:
        failures.append("%s:process_vm_readv:%s" % (describe(pid), error))
report("process_vm_readv", bool(granted), ",".join(granted) or (" ".join(failures) if found else "no target visible"))

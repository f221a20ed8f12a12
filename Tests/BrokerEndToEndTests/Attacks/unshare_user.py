# Row "unshare(CLONE_NEWUSER)": a user namespace would make the workload root of it,
# with every capability there. Lingers so the test can compare its user namespace.
result, error = syscall(272, 0x10000000)  # unshare(CLONE_NEWUSER)
report("unshare_user", result == 0, "unshare:%s" % (error or "ok"))
time.sleep(ARGS.get("linger", 0))

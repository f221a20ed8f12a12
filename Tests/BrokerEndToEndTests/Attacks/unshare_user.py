# Row "unshare(CLONE_NEWUSER)": a user namespace would make the workload root of it,
# with every capability there (the test compares its user namespace while it lingers).
result, error = syscall(272, 0x10000000)  # unshare(CLONE_NEWUSER)
report("unshare_user", result == 0, "unshare:%s" % (error or "ok"))

// C glue for cellos-netnsd: the rtnetlink structures (ifinfomsg, RTM_*) that no
// Swift-visible header declares, and ioctls, which Swift cannot call (variadic).
#pragma once
#include <linux/rtnetlink.h>
#include <linux/veth.h>

/// ioctl(sock, SIOCGSKNS): a new descriptor for the network namespace the socket
/// `sock` was created in, or -1 with errno set.
int cellos_netnsd_socket_namespace(int sock);

#include <sys/types.h>

/// One resource limit for the workload (setrlimit in the child).
typedef struct {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
} cellos_netnsd_rlimit;

/// Forks a workload that is parked before execve and gets SIGKILL when the
/// calling thread exits (PR_SET_PDEATHSIG) (with `new_pid_namespace`, as
/// pid 1 of a new PID namespace, which gets its own /proc mount): in the child, and only with
/// async-signal-safe calls, it enters the network namespace `netns_fd`, and, when
/// `resolv_conf` is not NULL, new IPC and UTS namespaces and a private mount
/// namespace in which that file is bind-mounted read-only over /etc/resolv.conf
/// and, when `workspace` is not NULL, a tmpfs is mounted there with the mount
/// options `workspace_options`; then it sets the `nlimits` resource limits, drops
/// supplementary groups and switches to `gid`/`uid` (the kernel then clears every
/// capability when uid is not 0) and empties the capability sets (for uid 0), sets no_new_privs, changes to `cwd`, puts
/// `stdio_fds[0..2]` on 0-2 when `stdio_fds` is not NULL (the client's stdio,
/// descriptors above 2) and /dev/null otherwise, closes every other descriptor except `start_fd`, installs
/// the seccomp BPF program `filter` (`filter_len` bytes of struct sock_filter;
/// none when 0), and blocks
/// reading one byte from `start_fd`. Byte 1 execs `path` with `argv`/`envp`;
/// anything else (EOF: the daemon closed the pipe) exits with status 125.
///
/// Returns the child's pid once it is parked (every setup step succeeded), or -1
/// with errno set to the failed step's error and *failed_step set to its number
/// (1 setns, 2 setgroups, 3 setresgid, 4 setresuid, 5 no_new_privs, 6 chdir,
/// 7 stdio, 8 close fds, 9 seccomp, 10 unshare(NEWNS|NEWIPC|NEWUTS), 11 private mounts,
/// 12 resolv.conf bind mount, 13 workspace tmpfs, 14 setrlimit, 15 capset, 16 mount(proc),
/// 17 prctl(PR_SET_PDEATHSIG)); the failed child
/// has been reaped.
pid_t cellos_netnsd_spawn_parked(int netns_fd, const char *resolv_conf, const char *workspace,
                                 const char *workspace_options, const cellos_netnsd_rlimit *limits, size_t nlimits,
                                 const char *path, char *const argv[], char *const envp[], const char *cwd, uid_t uid,
                                 gid_t gid, const int *stdio_fds, int start_fd, const void *filter, size_t filter_len,
                                 int new_pid_namespace, int *failed_step);

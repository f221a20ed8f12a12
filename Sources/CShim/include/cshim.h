// C glue for what Swift cannot reach on Linux: the CMSG_* macros, struct ucred
// (hidden behind _GNU_SOURCE), and a fork/exec whose child runs no Swift code.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Sends one datagram of `len` bytes with `nfds` descriptors attached as a single
/// SCM_RIGHTS control message (nfds may be 0). Retries EINTR. Returns the number of
/// bytes sent, or -1 with errno set.
ssize_t cellos_send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds);

/// Result of cellos_recv_with_fds beyond the byte count.
typedef struct {
    /// msg_flags as returned by the kernel (MSG_TRUNC, MSG_CTRUNC, ...).
    int msg_flags;
    /// Descriptors written to the caller's array (all of them are open and owned by the caller).
    size_t nfds;
    /// Descriptors that arrived but did not fit the caller's array; already closed here.
    size_t surplus_closed;
    /// Number of control messages that were not SCM_RIGHTS, or whose cmsg_len was bad.
    size_t bad_cmsgs;
} cellos_recv_info;

/// Receives one datagram into `buf` with MSG_CMSG_CLOEXEC, collecting every
/// SCM_RIGHTS descriptor into `fds` (capacity `maxfds`). Every received descriptor is
/// either returned in `fds` or closed before returning, also on error. Retries EINTR.
/// Returns the datagram's byte count (0 means orderly shutdown), or -1 with errno set.
ssize_t cellos_recv_with_fds(int sock, void *buf, size_t len, int flags, int *fds, size_t maxfds,
                             cellos_recv_info *info);

/// SO_PEERCRED of a connected AF_UNIX socket. Returns 0 or -1 with errno set.
int cellos_peer_credentials(int sock, pid_t *pid, uid_t *uid, gid_t *gid);

/// Forks and execs `path` with `argv`/`envp` (NULL-terminated). In the child, and
/// only there, the `nfds` descriptors of `fds` are moved to 3, 4, ... in order
/// (without CLOEXEC) and every other descriptor above 2 is closed; if
/// `set_listen_pid` is non-zero, "LISTEN_PID=<child pid>" is appended to the
/// environment (the child's pid is only known after fork). The child runs only
/// async-signal-safe code. Returns the child's pid once execve succeeded, or -1 with
/// errno set to the child's exec (or dup) failure, in which case the child was reaped.
pid_t cellos_spawn(const char *path, char *const argv[], char *const envp[], const int *fds,
                   size_t nfds, int set_listen_pid);

/// pipe2(O_CLOEXEC) and accept4(SOCK_CLOEXEC): glibc declares them only under _GNU_SOURCE.
int cellos_pipe_cloexec(int fds[2]);
int cellos_accept_cloexec(int sock);

/// setns(2) / unshare(2) (declared only under _GNU_SOURCE).
int cellos_setns(int fd, int nstype);
int cellos_unshare(int flags);
/// ioctl(fd, NS_GET_NSTYPE): the CLONE_NEW* type of a namespace fd, or -1 (ioctl is variadic).
int cellos_ns_get_type(int fd);
/// CLONE_NEWNET, for Swift.
int cellos_clone_newnet(void);

// C glue for what Swift cannot reach on Linux, shared by every cellos target: the
// CMSG_* macros, struct ucred and other _GNU_SOURCE-only declarations, prctl
// (variadic), signalfd, epoll and getrandom (headers outside Swift's Glibc module),
// and a fork/exec whose child runs no Swift code. Helper-specific C stays in the
// helper's own shim (CDNSProxyShim: recvmmsg batching; CNetnsdShim: the parked
// workload spawn and rtnetlink).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
// For the EPOLL* constants the callers of cellos_epoll_* pass, and epoll_create1.
#include <sys/epoll.h>

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
/// With `die_with_parent`, the child gets SIGKILL when the calling *thread* exits
/// (PR_SET_PDEATHSIG, kept across execve) and fails with ESRCH if the parent
/// already died; call it from a thread that lives as long as the child may.
pid_t cellos_spawn(const char *path, char *const argv[], char *const envp[], const int *fds,
                   size_t nfds, int set_listen_pid, int die_with_parent);

/// pipe2(O_CLOEXEC): glibc declares it only under _GNU_SOURCE.
int cellos_pipe_cloexec(int fds[2]);

/// accept4(SOCK_CLOEXEC, plus SOCK_NONBLOCK when `nonblocking` is non-zero), storing
/// the peer's address in `addr`/`addrlen` when they are not NULL (accept4 is declared
/// only under _GNU_SOURCE). Returns the new descriptor, or -1 with errno set.
int cellos_accept(int sock, void *addr, unsigned int *addrlen, int nonblocking);

/// setns(2) / unshare(2) (declared only under _GNU_SOURCE).
int cellos_setns(int fd, int nstype);
int cellos_unshare(int flags);
/// ioctl(fd, NS_GET_NSTYPE): the CLONE_NEW* type of a namespace fd, or -1 (ioctl is variadic).
int cellos_ns_get_type(int fd);
/// CLONE_NEWNET, for Swift.
int cellos_clone_newnet(void);

// MARK: privileges. Each returns 0 (or the value named) or -1 with errno set.

/// prctl(PR_SET_NO_NEW_PRIVS, 1): no execve may ever raise privileges again (per
/// thread, inherited by threads and children created afterwards).
int cellos_set_no_new_privs(void);

/// prctl(PR_GET_NO_NEW_PRIVS): 1, 0, or -1 with errno set.
int cellos_get_no_new_privs(void);

/// PR_CAPBSET_DROP for every capability up to the kernel's last one
/// (/proc/sys/kernel/cap_last_cap). Needs CAP_SETPCAP; only the calling thread's set.
int cellos_drop_bounding_set(void);

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL).
int cellos_clear_ambient(void);

/// prctl(PR_SET_DUMPABLE, 0) (whole process; execve resets it to 1).
int cellos_set_not_dumpable(void);

/// prctl(PR_GET_DUMPABLE): 0, 1, 2, or -1 with errno set.
int cellos_get_dumpable(void);

/// setgroups(0, NULL): no supplementary groups.
int cellos_clear_groups(void);

/// setresgid(gid, gid, gid) / setresuid(uid, uid, uid) (declared only under _GNU_SOURCE).
int cellos_setresgid(gid_t gid);
int cellos_setresuid(uid_t uid);

// MARK: signals

/// Blocks the `count` signals of `signals` in the calling thread (threads created
/// later inherit the mask) and returns a non-blocking, close-on-exec signalfd for
/// them, or -1 with errno set.
int cellos_signalfd(const int *signals, size_t count);

/// Reads one signal from a signalfd: its number, 0 when none is pending, or -1 with
/// errno set. Retries EINTR.
int cellos_read_signal(int fd);

// MARK: epoll

/// epoll_ctl(ADD/MOD/DEL) with a 64-bit user value in data.u64.
int cellos_epoll_ctl(int epfd, int op, int fd, unsigned int events, unsigned long long data);

/// epoll_wait returning at most `max` (≤ 256) events as parallel arrays (event
/// mask, data.u64), so Swift never touches the packed struct epoll_event.
int cellos_epoll_wait(int epfd, unsigned int *events, unsigned long long *data, int max, int timeout_ms);

// MARK: randomness

/// getrandom(buffer, length, 0): bytes from the kernel's CSPRNG. Returns how many
/// were written (possibly fewer than asked), or -1 with errno set.
ssize_t cellos_getrandom(void *buffer, size_t length);

// MARK: process exit

/// pidfd_open(pid, 0) (Linux 5.3+; glibc exposes no declaration Swift can see):
/// a descriptor that polls readable once `pid` has terminated. Returns -1 with
/// errno set.
int cellos_pidfd_open(pid_t pid);

/// F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE: the seals a secret's
/// memfd carries, so its bytes and size cannot change once handed over.
#define CELLOS_SECRET_SEALS 0xF

/// A memfd (MFD_CLOEXEC | MFD_ALLOW_SEALING) named `name` holding the `count`
/// bytes at `bytes`, with `seals` (F_SEAL_*) added; -1 with errno set. glibc
/// declares memfd_create and the seal constants only under _GNU_SOURCE.
int cellos_memfd(const char *name, const void *bytes, size_t count, int seals);

/// fcntl(fd, F_GET_SEALS): the descriptor's seals, or -1 with errno set
/// (EINVAL for a file that is not a memfd).
int cellos_fd_seals(int fd);

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

/// One step of building the workload's filesystem view, run in order in the
/// child. `parent` is a directory relative to the new root ("" is the root
/// itself) and `name` an entry in it; both are resolved with openat2
/// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so no step can be steered out of the
/// new root by a symlink.
typedef enum {
    CELLOS_VIEW_MKDIR = 1,    ///< mkdir (mode 0755); an existing directory is fine
    CELLOS_VIEW_MKFILE = 2,   ///< an empty file (mode 0644) to bind a file onto
    CELLOS_VIEW_SYMLINK = 3,  ///< a symlink whose text is `source`
    CELLOS_VIEW_BIND = 4,     ///< a recursive clone of the host path `source`, with `attr` set recursively
    CELLOS_VIEW_TMPFS = 5,    ///< a tmpfs with the mount options `source` and the flags `attr`
    CELLOS_VIEW_PROC = 6,     ///< a new proc instance (of the child's PID namespace) with the flags `attr`
    /// CELLOS_VIEW_BIND of a client-named path (`mounts`): `source` is resolved with
    /// the client's uid/gid as fsuid/fsgid and no supplementary groups, so a client
    /// binds only what it could reach itself.
    CELLOS_VIEW_CLIENT_BIND = 7,
    /// A directory (mode 0700) created with the workload's uid/gid as fsuid/fsgid,
    /// so it is the workload's without CAP_CHOWN (netnsd has none).
    CELLOS_VIEW_OWNED_DIR = 8,
    /// A secret file (mode 0400, created like CELLOS_VIEW_OWNED_DIR, must not exist)
    /// holding the `attr` bytes of the sealed memfd `fd`; the copy buffer is zeroed.
    CELLOS_VIEW_SECRET = 9,
} cellos_netnsd_view_op;

typedef struct {
    int op;
    const char *parent;
    const char *name;
    const char *source;
    /// MOUNT_ATTR_RDONLY/NOSUID/NODEV/NOEXEC (the same bits as MS_RDONLY/NOSUID/NODEV/NOEXEC);
    /// for CELLOS_VIEW_SECRET the secret's size in bytes.
    unsigned long long attr;
    /// CELLOS_VIEW_SECRET: the memfd to copy from (-1 otherwise).
    int fd;
} cellos_netnsd_view_step;

/// A Landlock path-beneath rule: `access` (LANDLOCK_ACCESS_FS_*) under `path`,
/// a path as the workload sees it (opened O_PATH in the child after pivot_root).
typedef struct {
    const char *path;
    unsigned long long access;
} cellos_netnsd_landlock_rule;

/// Everything the child needs for the confinement layers, prepared before the
/// fork (the child may not allocate or format strings).
typedef struct {
    /// The directory the new root's tmpfs is mounted on (in the child's mount
    /// namespace), or NULL for no filesystem view (the host's tree).
    const char *root;
    const char *root_options;
    const cellos_netnsd_view_step *steps;
    size_t nsteps;
    /// Landlock: handled_access_fs and scoped of the ruleset; both 0 = no Landlock.
    unsigned long long landlock_handled;
    unsigned long long landlock_scoped;
    const cellos_netnsd_landlock_rule *rules;
    size_t nrules;
    /// CAP_LAST_CAP (from /proc/sys/kernel/cap_last_cap): every capability up to it
    /// leaves the bounding set.
    int cap_last_cap;
    /// The requesting client's ids (SO_PEERCRED), for CELLOS_VIEW_CLIENT_BIND.
    uid_t client_uid;
    gid_t client_gid;
    /// The workload's ids, owner of CELLOS_VIEW_OWNED_DIR and CELLOS_VIEW_SECRET entries.
    uid_t workload_uid;
    gid_t workload_gid;
} cellos_netnsd_confinement;

/// The ABI version of the kernel's Landlock (0: none or disabled).
int cellos_netnsd_landlock_abi(void);

/// Forks a workload that is parked before execve and gets SIGKILL when the
/// calling thread exits (PR_SET_PDEATHSIG) (with `new_pid_namespace`, as
/// pid 1 of a new PID namespace, which gets its own /proc mount): in the child, and only with
/// async-signal-safe calls, it enters the network namespace `netns_fd`, and, when
/// `resolv_conf` is not NULL, new IPC and UTS namespaces and a private mount
/// namespace in which that file is bind-mounted read-only over /etc/resolv.conf
/// and, when `workspace` is not NULL, a tmpfs is mounted there with the mount
/// options `workspace_options` (without a filesystem view; with one, `confinement`
/// holds the resolv.conf and workspace as view steps and the child pivots into a new root,
/// see docs/netnsd.md); it calls setsid(); then it sets the `nlimits` resource limits, drops
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
/// 12 resolv.conf bind mount, 13 workspace tmpfs, 14 setrlimit, 15 capset, 16 mount(proc), 17 the view's root
/// tmpfs, 18 pivot_root, 19 read-only root, 20 setsid, 21 PR_CAPBSET_DROP, 22 PR_CAP_AMBIENT_CLEAR_ALL,
/// 23 landlock_create_ruleset, 24 open of a Landlock rule's path, 25 landlock_add_rule, 26 landlock_restrict_self,
/// 27 prctl(PR_SET_PDEATHSIG),
/// 1000 + i view step i); the failed child has been reaped.
pid_t cellos_netnsd_spawn_parked(int netns_fd, const char *resolv_conf, const char *workspace,
                                 const char *workspace_options, const cellos_netnsd_rlimit *limits, size_t nlimits,
                                 const char *path, char *const argv[], char *const envp[], const char *cwd, uid_t uid,
                                 gid_t gid, const int *stdio_fds, int start_fd, const void *filter, size_t filter_len,
                                 int new_pid_namespace, const cellos_netnsd_confinement *confinement, int *failed_step);

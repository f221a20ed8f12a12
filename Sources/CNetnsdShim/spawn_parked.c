// The workload's setup between fork and execve, in C: the daemon is
// multi-threaded, so the child may only make async-signal-safe calls (no Swift,
// no malloc, no locks). Raw syscalls for the id changes: glibc's wrappers would
// try to broadcast them to threads that do not exist in the child.
#define _GNU_SOURCE
#include "child_confinement.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static void report_and_exit(int status_fd, int step) {
    int message[2] = {step, errno};
    (void)!write(status_fd, message, sizeof message);
    _exit(126);
}

// PR_SET_PDEATHSIG(SIGKILL), then _exit if the parent already died.
static int die_with_parent(pid_t parent, int new_pid_namespace) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -1;
    if (!new_pid_namespace && getppid() != parent) _exit(126);
    return 0;
}

pid_t cellos_netnsd_spawn_parked(int netns_fd, const char *resolv_conf, const char *workspace,
                                 const char *workspace_options, const cellos_netnsd_rlimit *limits, size_t nlimits,
                                 const char *path, char *const argv[], char *const envp[], const char *cwd, uid_t uid,
                                 gid_t gid, const int *stdio_fds, int start_fd, const void *filter, size_t filter_len,
                                 int new_pid_namespace, const cellos_netnsd_confinement *confinement, int *failed_step) {
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    // A new PID namespace must be made at the fork itself (unshare(CLONE_NEWPID)
    // only affects later children): a raw clone with SIGCHLD behaves like fork,
    // and the child is pid 1 of the new namespace while the daemon sees its
    // ordinary pid. glibc's fork handlers do not run; the child makes only raw,
    // async-signal-safe calls anyway.
    pid_t pid = new_pid_namespace ? (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0) : fork();
    if (pid < 0) {
        int saved = errno;
        close(status_pipe[0]);
        close(status_pipe[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        int status_fd = status_pipe[1];
        // Dies with the daemon: the kernel sends it when the *thread* that forked
        // us exits (docs/netnsd.md, "Crashes"). A daemon that died before the prctl
        // shows as a new parent; in a new PID namespace getppid() is always 0, and
        // the parked write below fails instead (EPIPE: no reader is left).
        if (die_with_parent(parent, new_pid_namespace) != 0) report_and_exit(status_fd, 27);
        // Signals the daemon blocks (SIGTERM, SIGINT) must reach the workload.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (setns(netns_fd, CLONE_NEWNET) != 0) report_and_exit(status_fd, 1);
        // Its own session: no controlling terminal, and job-control signals sent
        // to the user's session or process group do not reach it (nor its to them).
        if (setsid() < 0) report_and_exit(status_fd, 20);
        // The child is single-threaded, so it may unshare its mount namespace;
        // mounts made private first, so nothing mounted below reaches the host.
        // New mount, IPC and UTS namespaces: its own mounts, no System V IPC or
        // POSIX message queues shared with the host, its own hostname.
        if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) != 0) report_and_exit(status_fd, 10);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) report_and_exit(status_fd, 11);
        if (confinement->root) {
            // A new root (resolv.conf, /proc and the workspace are steps of it).
            int failed = cellos_child_enter_view(confinement);
            if (failed) report_and_exit(status_fd, failed);
        } else {
            // The host's tree, with the cell's resolv.conf over /etc/resolv.conf.
            if (mount(resolv_conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0) report_and_exit(status_fd, 12);
            if (mount(NULL, "/etc/resolv.conf", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) report_and_exit(status_fd, 12);
            // Its own /proc, so /proc/self and ps show the new PID namespace; mounted
            // only now, from inside it (a proc instance belongs to the PID namespace
            // of the process that mounts it).
            if (new_pid_namespace && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
                report_and_exit(status_fd, 16);
            if (workspace && mount("cellos-workspace", workspace, "tmpfs", MS_NOSUID | MS_NODEV, workspace_options) != 0)
                report_and_exit(status_fd, 13);
        }
        // Limits only go down: raising a hard limit would need CAP_SYS_RESOURCE.
        for (size_t i = 0; i < nlimits; i++) {
            struct rlimit limit = {.rlim_cur = limits[i].soft, .rlim_max = limits[i].hard};
            if (setrlimit(limits[i].resource, &limit) != 0) report_and_exit(status_fd, 14);
        }
        // Bounding and ambient sets emptied while CAP_SETPCAP is still effective.
        int dropped = cellos_child_drop_bounding_set(confinement->cap_last_cap);
        if (dropped) report_and_exit(status_fd, dropped);
        if (syscall(SYS_setgroups, 0, NULL) != 0) report_and_exit(status_fd, 2);
        if (syscall(SYS_setresgid, gid, gid, gid) != 0) report_and_exit(status_fd, 3);
        if (syscall(SYS_setresuid, uid, uid, uid) != 0) report_and_exit(status_fd, 4);
        // Changing the effective uid/gid cleared the death signal: set it again.
        if (die_with_parent(parent, new_pid_namespace) != 0) report_and_exit(status_fd, 27);
        // A uid other than 0 already lost every capability in setresuid; a root
        // workload (--allow-root-workloads) keeps them, so empty the effective,
        // permitted and inheritable sets (lowering needs no privilege). With no_new_privs, execve cannot grant more than the
        // (empty) permitted set, even to uid 0.
        struct __user_cap_header_struct cap_header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct no_caps[2] = {{0, 0, 0}, {0, 0, 0}};
        if (syscall(SYS_capset, &cap_header, no_caps) != 0) report_and_exit(status_fd, 15);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) report_and_exit(status_fd, 5);
        int landlocked = cellos_child_landlock(confinement);
        if (landlocked) report_and_exit(status_fd, landlocked);
        if (chdir(cwd) != 0) report_and_exit(status_fd, 6);
        if (stdio_fds) {
            // The client's descriptors arrived above 2 (the daemon's own 0-2 are
            // open), so placing one cannot clobber another; dup2 clears CLOEXEC.
            for (int fd = 0; fd <= 2; fd++) {
                if (dup2(stdio_fds[fd], fd) < 0) report_and_exit(status_fd, 7);
            }
        } else {
            int null_fd = open("/dev/null", O_RDWR);
            if (null_fd < 0) report_and_exit(status_fd, 7);
            for (int fd = 0; fd <= 2; fd++) {
                if (dup2(null_fd, fd) < 0) report_and_exit(status_fd, 7);
            }
        }
        // Keep only stdio, the start pipe and the (close-on-exec) status pipe.
        int keep_low = start_fd < status_fd ? start_fd : status_fd;
        int keep_high = start_fd < status_fd ? status_fd : start_fd;
        if (keep_low > 3 && syscall(SYS_close_range, 3, keep_low - 1, 0) != 0) report_and_exit(status_fd, 8);
        if (keep_high > keep_low + 1 && syscall(SYS_close_range, keep_low + 1, keep_high - 1, 0) != 0) report_and_exit(status_fd, 8);
        if (syscall(SYS_close_range, keep_high + 1, ~0U, 0) != 0) report_and_exit(status_fd, 8);
        // Last, because the filter denies setns and friends used above.
        if (filter_len > 0) {
            struct sock_fprog program = {
                .len = (unsigned short)(filter_len / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *)filter,
            };
            if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) report_and_exit(status_fd, 9);
        }
        // Parked: tell the daemon, then wait for StartWorkload.
        int parked[2] = {0, 0};
        if (write(status_fd, parked, sizeof parked) != (ssize_t)sizeof parked) _exit(126);
        unsigned char go = 0;
        ssize_t got;
        do { got = read(start_fd, &go, 1); } while (got < 0 && errno == EINTR);
        if (got != 1 || go != 1) _exit(125);
        close(start_fd);
        execve(path, argv, envp);
        _exit(127);
    }
    close(status_pipe[1]);
    int message[2] = {-1, EIO};
    ssize_t got;
    do { got = read(status_pipe[0], message, sizeof message); } while (got < 0 && errno == EINTR);
    close(status_pipe[0]);
    if (got == (ssize_t)sizeof message && message[0] == 0) return pid;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (failed_step) *failed_step = got == (ssize_t)sizeof message ? message[0] : 0;
    errno = got == (ssize_t)sizeof message ? message[1] : EIO;
    return -1;
}

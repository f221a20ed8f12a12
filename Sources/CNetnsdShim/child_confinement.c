// The workload's filesystem view, bounding set and Landlock domain, built in the
// forked child of a multi-threaded daemon: raw syscalls only (no malloc, no
// stdio, no locks); every path and option string was prepared before the fork.
#define _GNU_SOURCE
#include "child_confinement.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

// struct mount_attr and struct landlock_ruleset_attr as of Linux 6.12 (the
// build host's headers predate `scoped`); the kernel accepts a larger struct
// from older ABIs as long as the extra fields are zero.
struct cellos_mount_attr {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
struct cellos_landlock_ruleset_attr {
    unsigned long long handled_access_fs, handled_access_net, scoped;
};
struct cellos_landlock_path_beneath_attr {
    unsigned long long allowed_access;
    int parent_fd;
} __attribute__((packed));
#define CELLOS_LANDLOCK_RULE_PATH_BENEATH 1

// `parent/name` under `root_fd`, never leaving it and following no symlink.
static int open_beneath(int root_fd, const char *path, int flags, int mode) {
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC), .mode = (unsigned long long)mode,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    return (int)syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof how);
}

// "/proc/self/fd/<fd>" in `buffer` (mount(2) takes a path; through the O_PATH
// descriptor it lands exactly where openat2 resolved). No snprintf in the child.
static const char *fd_path(int fd, char buffer[32]) {
    const char prefix[] = "/proc/self/fd/";
    char digits[12];
    int count = 0;
    do { digits[count++] = (char)('0' + fd % 10); fd /= 10; } while (fd > 0 && count < 11);
    int at = 0;
    for (; prefix[at]; at++) buffer[at] = prefix[at];
    while (count > 0) buffer[at++] = digits[--count];
    buffer[at] = 0;
    return buffer;
}

// The sealed memfd's `step->attr` bytes into the new file `parent/name` (mode
// 0400). pread: the memfd's offset is shared with the client's copy. The stack
// buffer that held the value is zeroed before returning.
static int write_secret(int parent, const cellos_netnsd_view_step *step) {
    int file = open_beneath(parent, step->name, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0400);
    if (file < 0) return -1;
    char buffer[4096];
    unsigned long long copied = 0;
    int result = 0;
    while (result == 0 && copied < step->attr) {
        size_t want = step->attr - copied < sizeof buffer ? (size_t)(step->attr - copied) : sizeof buffer;
        ssize_t got = pread(step->fd, buffer, want, (off_t)copied);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = EIO;
            result = -1;
            break;
        }
        for (ssize_t done = 0; done < got;) {
            ssize_t written = write(file, buffer + done, (size_t)(got - done));
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) {
                result = -1;
                break;
            }
            done += written;
        }
        copied += (unsigned long long)got;
    }
    int saved = errno;
    // volatile: the compiler may not drop stores to a buffer that is never read again.
    volatile char *wipe = buffer;
    for (size_t i = 0; i < sizeof buffer; i++) wipe[i] = 0;
    // The umask may have narrowed the creation mode; the exact mode is the contract.
    if (result == 0 && fchmod(file, 0400) != 0) saved = errno, result = -1;
    close(file);
    errno = saved;
    return result;
}

static int run_step(int root_fd, const cellos_netnsd_view_step *step, const cellos_netnsd_confinement *confinement) {
    uid_t client_uid = confinement->client_uid;
    gid_t client_gid = confinement->client_gid;
    int parent = open_beneath(root_fd, step->parent, O_PATH | O_DIRECTORY, 0);
    if (parent < 0) return -1;
    int result = -1;
    switch (step->op) {
    case CELLOS_VIEW_MKDIR:
        result = mkdirat(parent, step->name, 0755);
        if (result != 0 && errno == EEXIST) {
            // Only an existing directory will do (not a symlink or a file).
            int existing = open_beneath(parent, step->name, O_PATH | O_DIRECTORY, 0);
            result = existing < 0 ? -1 : 0;
            if (existing >= 0) close(existing);
        }
        break;
    case CELLOS_VIEW_MKFILE: {
        int file = open_beneath(parent, step->name, O_WRONLY | O_CREAT | O_NOCTTY, 0644);
        result = file < 0 ? -1 : 0;
        if (file >= 0) close(file);
        break;
    }
    case CELLOS_VIEW_SYMLINK:
        result = symlinkat(step->source, parent, step->name);
        break;
    case CELLOS_VIEW_BIND:
    case CELLOS_VIEW_CLIENT_BIND: {
        // The daemon resolves paths as root: a path the client names is resolved
        // with the client's ids instead (fsuid/fsgid, which the path walk checks;
        // CAP_SYS_ADMIN for open_tree is not a file capability and stays), with
        // the daemon's supplementary groups gone first (raw setgroups: this
        // process is single-threaded), so a client cannot bind a path beneath a
        // directory it may not search.
        int as_client = step->op == CELLOS_VIEW_CLIENT_BIND;
        if (as_client) {
            if (syscall(SYS_setgroups, 0, NULL) != 0) break;
            syscall(SYS_setfsgid, client_gid);
            syscall(SYS_setfsuid, client_uid);
        }
        // A detached recursive copy, made read-only (etc.) recursively before it is
        // attached: no moment where a submount of it is writable in the view.
        int tree = (int)syscall(SYS_open_tree, AT_FDCWD, step->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (as_client) {
            int saved = errno;
            syscall(SYS_setfsuid, 0);
            syscall(SYS_setfsgid, 0);
            errno = saved;
        }
        if (tree < 0) break;
        struct cellos_mount_attr attr = {.attr_set = step->attr, .propagation = MS_PRIVATE};
        int target = -1;
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) == 0 &&
            (target = open_beneath(parent, step->name, O_PATH, 0)) >= 0)
            result = (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        int saved = errno;
        if (target >= 0) close(target);
        close(tree);
        errno = saved;
        break;
    }
    case CELLOS_VIEW_OWNED_DIR:
    case CELLOS_VIEW_SECRET: {
        // Created as the workload (fsuid/fsgid), so it owns them: chown would need
        // CAP_CHOWN, which netnsd does not hold. /run is the workload's 1777 tmpfs.
        syscall(SYS_setfsgid, confinement->workload_gid);
        syscall(SYS_setfsuid, confinement->workload_uid);
        result = step->op == CELLOS_VIEW_SECRET ? write_secret(parent, step) : mkdirat(parent, step->name, 0700);
        int saved = errno;
        syscall(SYS_setfsuid, 0);
        syscall(SYS_setfsgid, 0);
        errno = saved;
        break;
    }
    case CELLOS_VIEW_TMPFS:
    case CELLOS_VIEW_PROC: {
        int target = open_beneath(parent, step->name, O_PATH | O_DIRECTORY, 0);
        if (target < 0) break;
        char where[32];
        result = step->op == CELLOS_VIEW_TMPFS
                     ? mount("tmpfs", fd_path(target, where), "tmpfs", (unsigned long)step->attr, step->source)
                     : mount("proc", fd_path(target, where), "proc", (unsigned long)step->attr, NULL);
        int saved = errno;
        close(target);
        errno = saved;
        break;
    }
    default:
        errno = EINVAL;
    }
    int saved = errno;
    close(parent);
    errno = saved;
    return result;
}

int cellos_child_enter_view(const cellos_netnsd_confinement *confinement) {
    if (mount("cellos-root", confinement->root, "tmpfs", MS_NOSUID | MS_NODEV, confinement->root_options) != 0) return 17;
    int root_fd = (int)syscall(SYS_openat, AT_FDCWD, confinement->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) return 17;
    for (size_t i = 0; i < confinement->nsteps; i++) {
        if (run_step(root_fd, &confinement->steps[i], confinement) != 0) return 1000 + (int)i;
    }
    // pivot_root(".", "."): the old root ends up stacked under the new one and is
    // detached right away, so no path of the host's tree stays reachable.
    if (fchdir(root_fd) != 0) return 18;
    close(root_fd);
    if (syscall(SYS_pivot_root, ".", ".") != 0) return 18;
    if (umount2(".", MNT_DETACH) != 0) return 18;
    if (chdir("/") != 0) return 18;
    // The root tmpfs itself (not its submounts) read-only: nothing new appears in
    // the view's skeleton once it is built.
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) return 19;
    return 0;
}

int cellos_child_drop_bounding_set(int cap_last_cap) {
    // Needs CAP_SETPCAP, so it runs before setresuid clears the effective set.
    for (int cap = 0; cap <= cap_last_cap; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return 21;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return 22;
    return 0;
}

int cellos_child_landlock(const cellos_netnsd_confinement *confinement) {
    if (confinement->landlock_handled == 0 && confinement->landlock_scoped == 0) return 0;
    struct cellos_landlock_ruleset_attr attr = {
        .handled_access_fs = confinement->landlock_handled, .scoped = confinement->landlock_scoped};
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0) return 23;
    for (size_t i = 0; i < confinement->nrules; i++) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, confinement->rules[i].path, O_PATH | O_CLOEXEC);
        if (fd < 0) return 24;
        struct cellos_landlock_path_beneath_attr rule = {.allowed_access = confinement->rules[i].access, .parent_fd = fd};
        long added = syscall(SYS_landlock_add_rule, ruleset, CELLOS_LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
        int saved = errno;
        close(fd);
        errno = saved;
        if (added != 0) return 25;
    }
    // Needs no_new_privs (set just before).
    long restricted = syscall(SYS_landlock_restrict_self, ruleset, 0);
    int saved = errno;
    close(ruleset);
    errno = saved;
    return restricted == 0 ? 0 : 26;
}

int cellos_netnsd_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */);
    return abi < 0 ? 0 : (int)abi;
}

// Spawn for socket activation. Between clone and execve the child of a threaded
// Swift process may only run async-signal-safe code, so this is C and allocates
// nothing in the child: the environment array and the LISTEN_PID buffer are
// prepared by the parent and filled in by the child.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CELLOS_SPAWN_FDS_MAX 64

static void write_decimal(char *out, long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && n < (int)sizeof digits);
    while (n > 0) *out++ = digits[--n];
    *out = '\0';
}

static void close_from(int lowest) {
    // close_range(2) exists since Linux 5.9; fall back to a bounded loop.
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = lowest; fd < max; fd++) close(fd);
}

// Everything the child needs, prepared by the parent. The child runs on its own
// stack in the parent's memory (CLONE_VM | CLONE_VFORK, as posix_spawn does): the
// parent is suspended until the child execs or exits, so the child may write its
// pid into `listen_pid` and its errno into `child_errno`, and nothing else.
struct spawn_plan {
    const char *path;
    char *const *argv;
    char **env;
    const int *fds;
    size_t nfds;
    int set_listen_pid;
    char *listen_pid;
    int die_with_parent;
    pid_t parent;
    int child_errno;
};

static _Noreturn void child_fail(struct spawn_plan *plan) {
    plan->child_errno = errno;
    _exit(127);
}

static int spawn_child(void *arg) {
    struct spawn_plan *plan = arg;
    // First, so no later step can outlive a parent killed meanwhile.
    if (plan->die_with_parent) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(plan);
        if (getppid() != plan->parent) {
            errno = ESRCH;
            child_fail(plan);
        }
    }
    // Step 1: signals back to defaults. Handlers installed by the parent must not
    // run here (they would run in the parent's memory), so every caught signal
    // is reset before the mask the parent blocked everything with is cleared; a
    // parent's ignored SIGPIPE would otherwise also leak into the helper.
    for (int sig = 1; sig < _NSIG; sig++) {
        struct sigaction action;
        if (sigaction(sig, NULL, &action) == 0 && action.sa_handler != SIG_DFL &&
            (action.sa_handler != SIG_IGN || sig == SIGPIPE)) {
            action.sa_handler = SIG_DFL;
            action.sa_flags = 0;
            sigemptyset(&action.sa_mask);
            sigaction(sig, &action, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    // Step 2: park every source fd above the target range 3..3+nfds so that
    // placing one cannot clobber another that is still unplaced.
    int first_free = 3 + (int)plan->nfds;
    int parked[CELLOS_SPAWN_FDS_MAX];
    for (size_t i = 0; i < plan->nfds; i++) {
        parked[i] = fcntl(plan->fds[i], F_DUPFD_CLOEXEC, first_free);
        if (parked[i] < 0) child_fail(plan);
    }
    // Step 3: dup2 clears FD_CLOEXEC on the target: these are the inherited fds.
    for (size_t i = 0; i < plan->nfds; i++) {
        if (dup2(parked[i], 3 + (int)i) < 0) child_fail(plan);
    }
    // Step 4: close everything else the parent had open.
    close_from(first_free);

    if (plan->set_listen_pid) write_decimal(plan->listen_pid + strlen("LISTEN_PID="), (long)getpid());
    execve(plan->path, plan->argv, plan->env);
    child_fail(plan);
}

pid_t cellos_spawn(const char *path, char *const argv[], char *const envp[], const int *fds,
                   size_t nfds, int set_listen_pid, int die_with_parent) {
    if (nfds > CELLOS_SPAWN_FDS_MAX) {
        errno = EINVAL;
        return -1;
    }
    size_t envc = 0;
    while (envp[envc] != NULL) envc++;
    char **env = calloc(envc + 2, sizeof(char *));
    if (env == NULL) return -1;
    memcpy(env, envp, envc * sizeof(char *));
    char listen_pid[32] = "LISTEN_PID=";
    if (set_listen_pid) env[envc] = listen_pid;

    // fork() would copy the page tables of the whole (large, threaded) parent;
    // a vfork-style clone shares them and costs the same however big it is.
    const size_t stack_size = 64 * 1024;
    char *stack = malloc(stack_size);
    if (stack == NULL) {
        free(env);
        return -1;
    }
    struct spawn_plan plan = {path, argv, env, fds, nfds, set_listen_pid, listen_pid, die_with_parent, getpid(), 0};
    sigset_t all, saved_mask;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_mask);
    pid_t pid = clone(spawn_child, stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
    free(stack);
    free(env);
    if (pid < 0) {
        errno = saved;
        return -1;
    }
    if (plan.child_errno != 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        errno = plan.child_errno;
        return -1;
    }
    return pid;
}

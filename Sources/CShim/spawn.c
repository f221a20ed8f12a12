// fork/exec for socket activation. Between fork and execve the child of a threaded
// Swift process may only run async-signal-safe code, so this is C and allocates
// nothing after fork: the environment array and the LISTEN_PID buffer are prepared
// by the parent and filled in by the child in its own copy of memory.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

static void _Noreturn child_fail(int errpipe) {
    int err = errno;
    ssize_t ignored = write(errpipe, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

pid_t cellos_spawn(const char *path, char *const argv[], char *const envp[], const int *fds,
                   size_t nfds, int set_listen_pid) {
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

    int errpipe[2];
    if (pipe2(errpipe, O_CLOEXEC) != 0) {
        free(env);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        // Step 1: signals back to defaults; a parent's blocked mask or ignored
        // SIGPIPE would otherwise leak into the helper.
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);

        // Step 2: park the error pipe and every source fd above the target range
        // 3..3+nfds so that placing one cannot clobber another that is still unplaced.
        int first_free = 3 + (int)nfds;
        int err = fcntl(errpipe[1], F_DUPFD_CLOEXEC, first_free);
        if (err < 0) child_fail(errpipe[1]);
        int parked[CELLOS_SPAWN_FDS_MAX];
        for (size_t i = 0; i < nfds; i++) {
            parked[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, first_free);
            if (parked[i] < 0) child_fail(err);
        }
        // Step 3: dup2 clears FD_CLOEXEC on the target: these are the inherited fds.
        for (size_t i = 0; i < nfds; i++) {
            if (dup2(parked[i], 3 + (int)i) < 0) child_fail(err);
        }
        // Step 4: keep the error pipe at first_free (CLOEXEC, so execve closes it);
        // close everything else the parent had open.
        if (err != first_free && dup3(err, first_free, O_CLOEXEC) < 0) child_fail(err);
        close_from(first_free + 1);
        err = first_free;

        if (set_listen_pid) write_decimal(listen_pid + strlen("LISTEN_PID="), (long)getpid());
        execve(path, argv, env);
        child_fail(err);
    }
    int saved = errno;
    free(env);
    close(errpipe[1]);
    if (pid < 0) {
        close(errpipe[0]);
        errno = saved;
        return -1;
    }
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(errpipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    close(errpipe[0]);
    if (n == sizeof child_errno) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        errno = child_errno;
        return -1;
    }
    return pid;
}

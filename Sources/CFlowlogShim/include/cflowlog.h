// C glue for cellos-flowlog where Swift cannot reach: signalfd (its header is
// not in Swift's Glibc module) and prctl (variadic).
#pragma once

/// Blocks SIGTERM, SIGINT and SIGUSR1 in the calling thread (threads created
/// later inherit the mask) and returns a non-blocking, close-on-exec signalfd
/// for them, or -1 with errno set.
int cellos_flowlog_signalfd(void);

/// Reads one signal from a signalfd: its number, 0 when none is pending, or -1
/// with errno set.
int cellos_flowlog_read_signal(int fd);

/// prctl(PR_SET_NO_NEW_PRIVS, 1): execve can never grant privileges again.
int cellos_flowlog_no_new_privs(void);

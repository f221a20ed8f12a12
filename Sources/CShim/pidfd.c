// pidfd_open through syscall(2), which is variadic and so not callable from Swift.
#define _GNU_SOURCE
#include "cshim.h"

#include <sys/syscall.h>
#include <unistd.h>

int cellos_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

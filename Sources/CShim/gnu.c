// Thin wrappers for glibc functions that are declared only under _GNU_SOURCE,
// which Swift's Glibc module does not define.
#define _GNU_SOURCE
#include "cshim.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

int cellos_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cellos_accept(int sock, void *addr, unsigned int *addrlen, int nonblocking) {
    return accept4(sock, (struct sockaddr *)addr, (socklen_t *)addrlen, SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
}

#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

int cellos_setns(int fd, int nstype) { return setns(fd, nstype); }

int cellos_unshare(int flags) { return unshare(flags); }

int cellos_ns_get_type(int fd) { return ioctl(fd, NS_GET_NSTYPE); }

int cellos_clone_newnet(void) { return CLONE_NEWNET; }

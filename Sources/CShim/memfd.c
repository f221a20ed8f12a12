// memfds for secrets (the broker) and their seals (netnsd checks them).
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int cellos_memfd(const char *name, const void *bytes, size_t count, int seals) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -1;
    const char *cursor = bytes;
    size_t left = count;
    while (left > 0) {
        ssize_t written = write(fd, cursor, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) goto fail;
        cursor += written;
        left -= (size_t)written;
    }
    if (seals != 0 && fcntl(fd, F_ADD_SEALS, seals) != 0) goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int cellos_fd_seals(int fd) { return fcntl(fd, F_GET_SEALS); }

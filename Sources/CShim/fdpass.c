// SCM_RIGHTS send/receive. The CMSG_* macros are the reason this file is C.
#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Matches IPCWire's FrameHeader.maxDescriptors with room to spare so that a sender
// exceeding it is detected (and its surplus closed) rather than silently truncated.
#define CELLOS_CMSG_FDS_MAX 64

ssize_t cellos_send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t nfds) {
    if (nfds > CELLOS_CMSG_FDS_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;

    union {
        char buf[CMSG_SPACE(sizeof(int) * CELLOS_CMSG_FDS_MAX)];
        struct cmsghdr align;
    } control;
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t cellos_recv_with_fds(int sock, void *buf, size_t len, int flags, int *fds, size_t maxfds,
                             cellos_recv_info *info) {
    memset(info, 0, sizeof *info);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    // Room for more descriptors than any frame may declare: the kernel closes
    // whatever does not fit (and sets MSG_CTRUNC); what fits we close below.
    union {
        char buf[CMSG_SPACE(sizeof(int) * CELLOS_CMSG_FDS_MAX)];
        struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;

    ssize_t n;
    do {
        n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    info->msg_flags = msg.msg_flags;

    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_len < CMSG_LEN(0)) {
            info->bad_cmsgs++;
            break;  // CMSG_NXTHDR cannot be trusted past a short header.
        }
        size_t payload = cmsg->cmsg_len - CMSG_LEN(0);
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
            info->bad_cmsgs++;
            continue;
        }
        size_t count = payload / sizeof(int);
        if (payload % sizeof(int) != 0) info->bad_cmsgs++;
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
            if (info->nfds < maxfds) {
                fds[info->nfds++] = fd;
            } else {
                close(fd);
                info->surplus_closed++;
            }
        }
    }
    return n;
}

int cellos_peer_credentials(int sock, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t size = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return -1;
    if (size != sizeof cred) {
        errno = EPROTO;
        return -1;
    }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

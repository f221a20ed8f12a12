#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include "cdnsproxyshim.h"

#define BATCH_MAX 64

int cellos_dns_recv_batch(int fd, unsigned char *buffers, size_t stride, unsigned count,
                          unsigned char *addrs, size_t addr_stride, unsigned *lengths, int *truncated) {
    struct mmsghdr messages[BATCH_MAX];
    struct iovec vectors[BATCH_MAX];
    if (count > BATCH_MAX) count = BATCH_MAX;
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = buffers + i * stride;
        vectors[i].iov_len = stride;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = addrs + i * addr_stride;
        messages[i].msg_hdr.msg_namelen = (socklen_t)addr_stride;
    }
    int received;
    do {
        received = recvmmsg(fd, messages, count, MSG_DONTWAIT, NULL);
    } while (received < 0 && errno == EINTR);
    for (int i = 0; i < received; i++) {
        lengths[i] = messages[i].msg_len;
        truncated[i] = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    }
    return received;
}

int cellos_dns_send_batch(int fd, const unsigned char *buffers, size_t stride, unsigned count,
                          const unsigned char *addrs, size_t addr_stride, const unsigned *addrlens,
                          const unsigned *lengths) {
    struct mmsghdr messages[BATCH_MAX];
    struct iovec vectors[BATCH_MAX];
    if (count > BATCH_MAX) count = BATCH_MAX;
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = (void *)(buffers + i * stride);
        vectors[i].iov_len = lengths[i];
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = (void *)(addrs + i * addr_stride);
        messages[i].msg_hdr.msg_namelen = addrlens[i];
    }
    int sent;
    do {
        sent = sendmmsg(fd, messages, count, MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

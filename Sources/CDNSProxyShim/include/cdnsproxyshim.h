// System interfaces the DNS proxy's event loop needs that Swift's Glibc module
// does not export: epoll, signalfd and getrandom. Declarations only; the one
// function below exists because the EPOLL* and SFD_* constants are enum values
// or macros whose imported types differ between glibc versions.
#pragma once
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/prctl.h>

/// epoll_ctl(ADD/MOD/DEL) with a 64-bit user value in data.u64.
int cellos_dns_epoll_ctl(int epfd, int op, int fd, unsigned int events, unsigned long long data);

/// epoll_wait that returns events as parallel arrays (event mask, data.u64), avoiding
/// the packed struct epoll_event in Swift.
int cellos_dns_epoll_wait(int epfd, unsigned int *events, unsigned long long *data, int max, int timeout_ms);

/// accept4(SOCK_CLOEXEC | SOCK_NONBLOCK), storing the peer in `addr` (accept4 is
/// declared only under _GNU_SOURCE).
int cellos_dns_accept(int sock, void *addr, unsigned int *addrlen);

/// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) (prctl is variadic). Returns 0 or -1 with errno.
int cellos_dns_set_no_new_privs(void);

/// prctl(PR_GET_NO_NEW_PRIVS): 1, 0, or -1 with errno.
int cellos_dns_get_no_new_privs(void);

/// recvmmsg(MSG_DONTWAIT) of up to `count` (≤ 64) datagrams into slots of `stride`
/// bytes at `buffers`; the source of datagram i goes to `addrs` + i * `addr_stride`
/// (room for a sockaddr_in6), its length to lengths[i], and truncated[i] is set
/// when it did not fit its slot. Returns the number received, or -1 with errno.
int cellos_dns_recv_batch(int fd, unsigned char *buffers, size_t stride, unsigned count,
                          unsigned char *addrs, size_t addr_stride, unsigned *lengths, int *truncated);

/// sendmmsg(MSG_DONTWAIT) of `count` (≤ 64) datagrams: datagram i is lengths[i] bytes
/// at `buffers` + i * `stride`, to the address at `addrs` + i * `addr_stride` of length
/// addrlens[i]. Returns how many were sent, or -1 with errno.
int cellos_dns_send_batch(int fd, const unsigned char *buffers, size_t stride, unsigned count,
                          const unsigned char *addrs, size_t addr_stride, const unsigned *addrlens,
                          const unsigned *lengths);

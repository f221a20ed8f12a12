// cellos-dnsproxy's own C: recvmmsg/sendmmsg batching of its UDP paths (struct
// mmsghdr and both calls are _GNU_SOURCE-only). Shared wrappers (epoll, signalfd,
// accept4, prctl, getrandom) are in CShim.
#pragma once
#include <stddef.h>

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

#include <stdint.h>

/// Sleeps up to `nanoseconds` (< 1 s) unless *word is set, or until
/// `cellos_dns_wake(word)` sets it: the event writer's pause between rounds.
void cellos_dns_pause(uint32_t *word, long nanoseconds);

/// Sets *word to 1 and wakes a thread paused on it.
void cellos_dns_wake(uint32_t *word);

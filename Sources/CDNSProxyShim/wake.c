// The event writer thread's pause between drain rounds, cut short by stop():
// a futex on one word (futex(2) has no glibc wrapper, and syscall() is variadic).
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cdnsproxyshim.h"

void cellos_dns_pause(uint32_t *word, long nanoseconds) {
    struct timespec timeout = {.tv_sec = 0, .tv_nsec = nanoseconds};
    // Returns at once when *word is no longer 0 (stop() came first), else on the
    // wake-up or after the timeout; EINTR and EAGAIN only end the pause early.
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, &timeout, NULL, 0);
}

void cellos_dns_wake(uint32_t *word) {
    __atomic_store_n(word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

// epoll without struct epoll_event in Swift: the struct is packed on x86-64,
// which Swift cannot lay out.
#include "cshim.h"

#include <sys/epoll.h>

int cellos_epoll_ctl(int epfd, int op, int fd, unsigned int events, unsigned long long data) {
    struct epoll_event event = {.events = events, .data.u64 = data};
    return epoll_ctl(epfd, op, fd, &event);
}

int cellos_epoll_wait(int epfd, unsigned int *events, unsigned long long *data, int max, int timeout_ms) {
    struct epoll_event ready[256];
    if (max > 256) max = 256;
    int count = epoll_wait(epfd, ready, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        events[i] = ready[i].events;
        data[i] = ready[i].data.u64;
    }
    return count;
}

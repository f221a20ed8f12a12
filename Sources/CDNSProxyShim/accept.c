#define _GNU_SOURCE
#include <sys/socket.h>
#include "cdnsproxyshim.h"

int cellos_dns_accept(int sock, void *addr, unsigned int *addrlen) {
    return accept4(sock, (struct sockaddr *)addr, (socklen_t *)addrlen, SOCK_CLOEXEC | SOCK_NONBLOCK);
}
